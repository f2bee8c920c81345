"""Named shared memory, as ``multiprocessing.shared_memory``.

Re-exports :mod:`processing_core.shared_memory`: ``SharedMemory`` and ``ShareableList``.
"""

from __future__ import annotations

# One list of names, kept where the machinery lives: this module re-exports it whole.
from processing_core import shared_memory as _source
from processing_core.shared_memory import *  # noqa: F403

__all__ = list(_source.__all__)
