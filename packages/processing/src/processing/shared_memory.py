"""Named shared memory, as ``multiprocessing.shared_memory``.

Re-exports :mod:`processing_core.shared_memory`: ``SharedMemory`` and ``ShareableList``.
"""

from __future__ import annotations

from processing_core.shared_memory import ShareableList, SharedMemory

__all__ = ["ShareableList", "SharedMemory"]
