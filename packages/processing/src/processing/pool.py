"""Worker pools, as ``multiprocessing.pool`` and 0.52's ``processing.pool``.

Re-exports :mod:`processing_pool.pool`: ``Pool``, ``ThreadPool``, the result classes and
the pool states.  The 0.52 method names (``applyAsync``, ``mapAsync``, ``imapUnordered``)
are methods of ``Pool`` itself.
"""

from __future__ import annotations

from processing_pool.pool import (
    CLOSE,
    RUN,
    TERMINATE,
    ApplyResult,
    AsyncResult,
    IMapIterator,
    IMapUnorderedIterator,
    MapResult,
    Pool,
    RemoteError,
    RemoteTraceback,
    SerializationError,
    ThreadPool,
    TimeoutError,
    WorkerLostError,
)

__all__ = [
    "CLOSE",
    "RUN",
    "TERMINATE",
    "ApplyResult",
    "AsyncResult",
    "IMapIterator",
    "IMapUnorderedIterator",
    "MapResult",
    "Pool",
    "RemoteError",
    "RemoteTraceback",
    "SerializationError",
    "ThreadPool",
    "TimeoutError",
    "WorkerLostError",
]
