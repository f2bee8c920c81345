"""processing_sync: the primitives of ``threading``, working across processes.

Locks, conditions, events, barriers, queues and synchronized shared values, built
on ``processing_core``'s native semaphores, shared heap and ring buffer.  Each object
can be handed to a child process when the child is created (as a ``Process``
argument), under every start method.
"""

from __future__ import annotations

from processing_sync._barrier import Barrier, BrokenBarrierError
from processing_sync._condition import Condition
from processing_sync._contexts import register_context_methods
from processing_sync._event import Event
from processing_sync._locks import BoundedSemaphore, Lock, RLock, Semaphore
from processing_sync._queues import Empty, Full, JoinableQueue, Queue, SimpleQueue
from processing_sync._sharedctypes import (
    Array,
    Synchronized,
    SynchronizedArray,
    SynchronizedBase,
    SynchronizedString,
    Value,
    copy,
    synchronized,
)
from processing_sync._version import __version__

register_context_methods()

__all__ = [
    "Array",
    "Barrier",
    "BoundedSemaphore",
    "BrokenBarrierError",
    "Condition",
    "Empty",
    "Event",
    "Full",
    "JoinableQueue",
    "Lock",
    "Queue",
    "RLock",
    "Semaphore",
    "SimpleQueue",
    "Synchronized",
    "SynchronizedArray",
    "SynchronizedBase",
    "SynchronizedString",
    "Value",
    "__version__",
    "copy",
    "synchronized",
]
