"""Process-shared queues, as ``multiprocessing.queues``.

Re-exports :mod:`processing_sync.queues`; 0.52 spelled the module ``processing.queue``
(see :mod:`processing.queue`).
"""

from __future__ import annotations

# One list of names, kept where the machinery lives: this module re-exports it whole.
from processing_sync import queues as _source
from processing_sync.queues import *  # noqa: F403

__all__ = list(_source.__all__)
