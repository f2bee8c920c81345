"""Worker pools, as ``multiprocessing.pool`` and 0.52's ``processing.pool``.

Re-exports :mod:`processing_pool.pool`: ``Pool``, ``ThreadPool``, the result classes and
the pool states.  The 0.52 method names (``applyAsync``, ``mapAsync``, ``imapUnordered``)
are methods of ``Pool`` itself.
"""

from __future__ import annotations

# One list of names, kept where the machinery lives: this module re-exports it whole.
from processing_pool import pool as _source
from processing_pool.pool import *  # noqa: F403

__all__ = list(_source.__all__)
