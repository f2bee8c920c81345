"""processing_pool: worker pools on local processes or threads.

``Pool`` runs tasks in worker processes and survives workers that die; ``ThreadPool``
offers the same API on threads.  Results are :class:`ApplyResult` (also called
:class:`AsyncResult`), :class:`MapResult` and the ``imap`` iterators.
"""

from __future__ import annotations

from processing_core._context import register_context_method

from processing_pool._dask import DaskBackend
from processing_pool._errors import RemoteError, RemoteTraceback, SerializationError, WorkerLostError
from processing_pool._pool import Pool
from processing_pool._results import ApplyResult, AsyncResult, IMapIterator, IMapUnorderedIterator, MapResult
from processing_pool._threadpool import ThreadPool
from processing_pool._version import __version__

__all__ = [
    "ApplyResult",
    "AsyncResult",
    "DaskBackend",
    "IMapIterator",
    "IMapUnorderedIterator",
    "MapResult",
    "Pool",
    "RemoteError",
    "RemoteTraceback",
    "SerializationError",
    "ThreadPool",
    "WorkerLostError",
    "__version__",
]


def _context_pool(ctx: object, *args: object, **kwargs: object) -> Pool:
    """``ctx.Pool(...)``: a pool whose workers use the context's start method."""
    return Pool(*args, context=ctx, **kwargs)  # type: ignore[arg-type,misc]


register_context_method("Pool", _context_pool)
