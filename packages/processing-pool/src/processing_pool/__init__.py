"""processing_pool: worker pools on local processes or threads.

``Pool`` runs tasks in worker processes and survives workers that die; ``ThreadPool``
offers the same API on threads.  Results are :class:`ApplyResult` (also called
:class:`AsyncResult`), :class:`MapResult` and the ``imap`` iterators.
"""

from __future__ import annotations

from processing_pool._errors import RemoteError, RemoteTraceback, SerializationError, WorkerLostError
from processing_pool._pool import Pool
from processing_pool._results import ApplyResult, AsyncResult, IMapIterator, IMapUnorderedIterator, MapResult
from processing_pool._threadpool import ThreadPool
from processing_pool._version import __version__

__all__ = [
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
    "WorkerLostError",
    "__version__",
]
