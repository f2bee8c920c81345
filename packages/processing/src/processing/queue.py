"""0.52's ``processing.queue`` (singular): the same queues as :mod:`processing.queues`.

``Empty`` and ``Full`` are here too (0.52 users imported them from the standard
library's ``Queue`` module, which is ``queue`` now).  The 0.52 methods ``getNoWait``,
``putNoWait``, ``joinThread`` and ``cancelJoin`` are methods of ``Queue`` itself.
"""

from __future__ import annotations

from processing_sync.queues import Empty, Full, JoinableQueue, Queue, SimpleQueue

__all__ = ["Empty", "Full", "JoinableQueue", "Queue", "SimpleQueue"]
