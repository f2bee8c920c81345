"""The shared heap behind ``RawValue``/``RawArray``, as ``multiprocessing.heap``.

Re-exports :mod:`processing_core._heap`: ``Heap`` (the allocator), ``Arena`` (an
anonymous shared mapping), ``Block`` (one allocation), ``BufferWrapper`` (a block with
``create_memoryview()``, as in ``multiprocessing.heap``) and ``heap`` (this process's heap).
"""

from __future__ import annotations

from processing_core._arena import Arena
from processing_core._heap import Block, BufferWrapper, Heap, heap

__all__ = ["Arena", "Block", "BufferWrapper", "Heap", "heap"]
