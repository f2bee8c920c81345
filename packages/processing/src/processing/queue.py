"""0.52's ``processing.queue`` (singular): the same queues as :mod:`processing.queues`.

``Empty`` and ``Full`` are here too (0.52 users imported them from the standard
library's ``Queue`` module, which is ``queue`` now).  The 0.52 methods ``getNoWait``,
``putNoWait``, ``joinThread`` and ``cancelJoin`` are methods of ``Queue`` itself.
"""

from __future__ import annotations

# One list of names, kept where the machinery lives: this module re-exports it whole.
from processing_sync import queues as _source
from processing_sync.queues import *  # noqa: F403

__all__ = list(_source.__all__)
