"""The names of ``multiprocessing.pool`` (and 0.52's ``processing.pool``) in one module.

The meta-package's ``processing.pool`` re-exports this module, so that
``from processing.pool import Pool, ThreadPool, AsyncResult`` works as it does with the
standard library.
"""

from __future__ import annotations

from processing_core._errors import TimeoutError

from processing_pool._base import CLOSE, RUN, TERMINATE
from processing_pool._errors import RemoteError, RemoteTraceback, SerializationError, WorkerLostError
from processing_pool._pool import Pool
from processing_pool._results import ApplyResult, AsyncResult, IMapIterator, IMapUnorderedIterator, MapResult
from processing_pool._threadpool import ThreadPool

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
