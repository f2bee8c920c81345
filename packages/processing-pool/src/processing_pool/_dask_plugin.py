"""The worker plugin that runs a Dask pool's ``initializer`` once in every Dask worker.

Apart from :mod:`processing_pool._dask` because it subclasses a class of ``distributed``,
which is imported only when a Dask pool is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin  # type: ignore[import-untyped,import-not-found,unused-ignore]


class InitializerPlugin(WorkerPlugin):  # type: ignore[misc,unused-ignore]
    """Calls ``initializer(*initargs)`` when a worker starts (and in every worker there now)."""

    def __init__(self, initializer: Callable[..., object], initargs: tuple[Any, ...]) -> None:
        self.initializer = initializer
        self.initargs = initargs

    def setup(self, worker: Any) -> None:
        """Run the initializer in ``worker``'s process."""
        self.initializer(*self.initargs)
