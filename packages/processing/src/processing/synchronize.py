"""Process-shared synchronisation primitives, as ``multiprocessing.synchronize`` (and 0.52's module).

Re-exports :mod:`processing_sync.synchronize`.  The 0.52 method names (``notifyAll``,
``isSet``, ``getValue``) are methods of the primitives themselves.
"""

from __future__ import annotations

from processing_sync.synchronize import (
    RECURSIVE_MUTEX,
    SEM_VALUE_MAX,
    SEMAPHORE,
    Barrier,
    BoundedSemaphore,
    BrokenBarrierError,
    Condition,
    Event,
    Lock,
    RLock,
    Semaphore,
    SemLock,
)

__all__ = [
    "RECURSIVE_MUTEX",
    "SEMAPHORE",
    "SEM_VALUE_MAX",
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "Condition",
    "Event",
    "Lock",
    "RLock",
    "SemLock",
    "Semaphore",
]
