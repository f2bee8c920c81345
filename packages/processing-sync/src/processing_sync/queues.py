"""The queues of ``processing_sync`` under a public module name (like ``multiprocessing.queues``).

``Queue``, ``JoinableQueue`` and ``SimpleQueue``, and the standard library's ``Empty`` and
``Full`` that they raise.  See :mod:`processing_sync._queues` for how they work.
"""

from __future__ import annotations

from processing_sync._queues import Empty, Full, JoinableQueue, Queue, SimpleQueue

__all__ = ["Empty", "Full", "JoinableQueue", "Queue", "SimpleQueue"]
