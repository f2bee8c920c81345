"""Process-shared queues, as ``multiprocessing.queues``.

Re-exports :mod:`processing_sync.queues`; 0.52 spelled the module ``processing.queue``
(see :mod:`processing.queue`).
"""

from __future__ import annotations

from processing_sync.queues import Empty, Full, JoinableQueue, Queue, SimpleQueue

__all__ = ["Empty", "Full", "JoinableQueue", "Queue", "SimpleQueue"]
