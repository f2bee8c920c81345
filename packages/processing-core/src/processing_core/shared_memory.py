"""Shared memory between processes: ``SharedMemory`` and ``ShareableList``.

The public home of these names, as ``multiprocessing.shared_memory`` is for the
standard library (``from processing.shared_memory import SharedMemory``).
"""

from __future__ import annotations

from processing_core._shareable_list import ShareableList
from processing_core._shared_memory import SharedMemory

__all__ = ["ShareableList", "SharedMemory"]
