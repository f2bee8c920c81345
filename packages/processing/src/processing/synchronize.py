"""Process-shared synchronisation primitives, as ``multiprocessing.synchronize`` (and 0.52's module).

Re-exports :mod:`processing_sync.synchronize`.  The 0.52 method names (``notifyAll``,
``isSet``, ``getValue``) are methods of the primitives themselves.
"""

from __future__ import annotations

# One list of names, kept where the machinery lives: this module re-exports it whole.
from processing_sync import synchronize as _source
from processing_sync.synchronize import *  # noqa: F403

__all__ = list(_source.__all__)
