"""ctypes objects in shared memory, as ``multiprocessing.sharedctypes`` (and 0.52's module).

Re-exports :mod:`processing_sync.sharedctypes`.  The 0.52 wrapper methods ``getobj()`` and
``getlock()`` are methods of the wrappers themselves.
"""

from __future__ import annotations

# One list of names, kept where the machinery lives: this module re-exports it whole.
from processing_sync import sharedctypes as _source
from processing_sync.sharedctypes import *  # noqa: F403

__all__ = list(_source.__all__)
