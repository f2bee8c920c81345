"""The shared heap behind ``RawValue``/``RawArray``, as ``multiprocessing.heap``.

Re-exports :mod:`processing_core._heap`: ``Heap`` (the allocator), ``Arena`` (an
anonymous shared mapping), ``Block`` (one allocation) and ``heap`` (this process's heap).
``BufferWrapper`` (``multiprocessing.heap``, 0.52) is not provided: allocate with
``RawArray`` or ``heap.malloc``.
"""

from __future__ import annotations

from processing_core._arena import Arena
from processing_core._heap import Block, Heap, heap

__all__ = ["Arena", "Block", "Heap", "heap"]
