"""The synchronization primitives under a public module name (like ``multiprocessing.synchronize``).

``Lock``, ``RLock``, ``Semaphore``, ``BoundedSemaphore``, ``Condition``, ``Event`` and
``Barrier``, the ``SemLock`` base class of the locks and semaphores, its kinds
``RECURSIVE_MUTEX`` and ``SEMAPHORE``, ``SEM_VALUE_MAX``, and ``BrokenBarrierError``
(``threading``'s own).  See the Synchronization page of the user guide.
"""

from __future__ import annotations

from processing_sync._barrier import Barrier, BrokenBarrierError
from processing_sync._condition import Condition
from processing_sync._event import Event
from processing_sync._locks import (
    RECURSIVE_MUTEX,
    SEM_VALUE_MAX,
    SEMAPHORE,
    BoundedSemaphore,
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
