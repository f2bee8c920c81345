"""How ``Pool(backend="dask", ...)`` sets itself up on a :class:`~processing_pool.DaskBackend`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from processing_core._util import Finalize

from processing_pool._backend import OpenJobs
from processing_pool._dask import DaskBackend, import_distributed
from processing_pool._serializers import get_serializer


def init_dask_pool(
    pool: Any,
    backend: Any,
    address: str | None,
    processes: int | None,
    initializer: Callable[..., object] | None,
    initargs: Iterable[Any],
    serializer: str,
    unsupported: dict[str, Any],
) -> None:
    """Set ``pool`` (a :class:`~processing_pool.Pool` being made) up on a Dask backend."""
    import_distributed()  # first: without the extra, nothing else matters
    given = [name for name, value in unsupported.items() if value is not None]
    if given:
        raise ValueError(f"{', '.join(given)} not supported with a Dask backend (local processes only)")
    get_serializer(serializer)  # an unknown name is still an error; on Dask tasks travel by cloudpickle
    if initializer is not None and not callable(initializer):
        raise TypeError("initializer must be a callable")
    if processes is not None and (not isinstance(processes, int) or isinstance(processes, bool) or processes < 1):
        raise ValueError(f"processes must be a positive int or None, not {processes!r}")
    if isinstance(backend, DaskBackend):
        if address is not None or processes is not None:
            raise ValueError("with a DaskBackend, give address and processes to the backend, not to the pool")
        chosen = backend
    elif backend is None or backend == "dask":
        if address is not None and processes is not None:
            raise ValueError("processes sizes the local cluster the pool starts: not with an address")
        chosen = DaskBackend(address=address, n_workers=processes)
    else:
        raise ValueError(f"backend must be None, 'dask' or a DaskBackend, not {backend!r}")
    open_jobs = OpenJobs()
    chosen._attach(open_jobs, initializer, initargs)
    pool._init_base(chosen, open_jobs)
    # Collected or at exit: cancel what runs and release the cluster.
    pool._terminate_finalizer = Finalize(pool, chosen.terminate, exitpriority=15)
