"""Give every ``processing_core`` context the primitives of this package.

``get_context("spawn").Lock()`` and friends work as in ``multiprocessing``.  Core may
not import this package, so this package registers its factories with core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from processing_core._context import register_context_method

from processing_sync import _barrier, _condition, _event, _locks, _sharedctypes


def _bound(factory: Callable[..., Any]) -> Callable[..., Any]:
    def make(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("ctx", ctx)
        return factory(*args, **kwargs)

    make.__name__ = factory.__name__
    make.__doc__ = factory.__doc__
    return make


def register_context_methods() -> None:
    """Register ``Lock``, ``RLock``, ..., ``Value`` and ``Array`` as context methods."""
    factories: list[Callable[..., Any]] = [
        _locks.Lock,
        _locks.RLock,
        _locks.Semaphore,
        _locks.BoundedSemaphore,
        _condition.Condition,
        _event.Event,
        _barrier.Barrier,
        _sharedctypes.Value,
        _sharedctypes.Array,
    ]
    for factory in factories:
        register_context_method(factory.__name__, _bound(factory))
