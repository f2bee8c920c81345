"""The shared heap: many small blocks of shared memory out of a few memfd arenas.

``RawValue``/``RawArray`` (and so ``Value``/``Array``) take their memory here, so
creating a thousand of them maps a few arenas, not a thousand segments, and nothing
appears in ``/dev/shm``: the arenas are anonymous and vanish with their last user.

Allocation is process-local and needs no shared bookkeeping: small requests are
rounded to a size class and served from a per-class free list, or cut from the
current arena; requests above :data:`LARGE_BLOCK` get an arena of their own, freed
with the block.  A block is freed when its :class:`Block` (kept alive by the ctypes
object built on it) is garbage-collected.  Like semaphore slots, a freed block is
only reused when no other process can be using it: not if it was handed to a child,
nor if this process forked while it was alive.  Those blocks go back with their
arena, once every process that maps it has dropped it.  A fork child allocates from
arenas of its own, so parent and child never hand out the same block.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from processing_core._arena import Arena
from processing_core._platform import page_size
from processing_core._reduction import get_spawning_popen

__all__ = ["ALIGNMENT", "ARENA_SIZE", "LARGE_BLOCK", "Block", "BufferWrapper", "Heap", "heap"]

ALIGNMENT = 16  # enough for every ctypes scalar, including long double
ARENA_SIZE = 1 << 22  # 4 MiB of address space; pages are only backed once touched
LARGE_BLOCK = 1 << 18  # larger blocks get an arena of their own
_SMALL = 1024  # up to this, size classes are multiples of ALIGNMENT; above, powers of two


def size_class(size: int) -> int:
    """The size actually reserved for a request of ``size`` bytes."""
    size = max(size, 1)
    if size <= _SMALL:
        return (size + ALIGNMENT - 1) & ~(ALIGNMENT - 1)
    return 1 << (size - 1).bit_length()


class Block:
    """A block of the shared heap: ``size`` bytes at ``offset`` in ``arena``."""

    __slots__ = ("__weakref__", "_epoch", "_heap", "_rounded", "addr", "arena", "offset", "reused", "size")

    def __init__(self, heap: Heap | None, arena: Arena, offset: int, size: int, rounded: int, reused: bool) -> None:
        self._heap = heap  # None: never reused (a large block, or one handed to this process)
        self._epoch = heap.epoch if heap is not None else -1
        self._rounded = rounded
        self.arena = arena
        self.offset = offset
        self.addr = arena._address + offset  # the block's address in this process
        self.size = size
        self.reused = reused  # the memory held something before: callers zero it

    def memoryview(self) -> memoryview:
        """A writable view of the block's bytes."""
        return memoryview(self.arena.map)[self.offset : self.offset + self.size]

    def address(self) -> int:
        """The block's address in this process."""
        return self.addr

    def __reduce__(self) -> tuple[Any, ...]:
        if get_spawning_popen() is None:
            # Reached through the ctypes object built on the block: name what users see.
            raise RuntimeError(
                "shared ctypes objects (RawValue, RawArray) should only be shared between processes "
                "through inheritance: pass them to the child when it is created (as an argument of "
                "Process or a pool initializer), not through a queue, a pipe or pickle"
            )
        self._heap = None  # a child may use it from now on: never reuse it
        return (_rebuild_block, (self.arena, self.offset, self.size))

    def __del__(self) -> None:
        heap = self._heap
        if heap is not None and self._epoch == heap.epoch:
            free = heap._free_lists.get(self._rounded)
            if free is None:
                free = heap._free_lists.setdefault(self._rounded, [])
            free.append((self.arena, self.offset))

    def __repr__(self) -> str:
        return f"<Block {self.size} bytes at offset {self.offset} of arena fd {self.arena.fd}>"


class Heap:
    """This process's allocator of shared blocks."""

    def __init__(self, arena_size: int = ARENA_SIZE) -> None:
        if arena_size % page_size():
            raise ValueError(f"arena size must be a multiple of the page size ({page_size()}), not {arena_size}")
        self.arena_size = arena_size
        self.epoch = 0
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._arena: Arena | None = None
        self._next = 0
        self._free_lists: dict[int, list[tuple[Arena, int]]] = {}
        self.arenas_created = 0

    def malloc(self, size: int) -> Block:
        """Return a block of at least ``size`` bytes, aligned to :data:`ALIGNMENT`."""
        if size < 0:
            raise ValueError(f"a block size must be a non-negative int, not {size!r}")
        rounded = ((size or 1) + ALIGNMENT - 1) & ~(ALIGNMENT - 1) if size <= _SMALL else size_class(size)
        if rounded > LARGE_BLOCK:
            pages = -(-rounded // page_size()) * page_size()
            self.arenas_created += 1
            return Block(None, Arena(pages, purpose="heap"), 0, size, rounded, False)
        free = self._free_lists.get(rounded)
        if free:
            try:
                arena, offset = free.pop()
            except IndexError:  # another thread took the last one
                pass
            else:
                return Block(self, arena, offset, size, rounded, True)
        with self._lock:
            current = self._arena
            if current is None or self._next + rounded > current.size:
                current = self._arena = Arena(self.arena_size, purpose="heap")
                self.arenas_created += 1
                self._next = 0
            offset = self._next
            self._next = offset + rounded
        return Block(self, current, offset, size, rounded, False)

    def free_blocks(self) -> int:
        """How many freed blocks wait for reuse (for tests and diagnostics)."""
        return sum(len(blocks) for blocks in self._free_lists.values())

    def _before_fork(self) -> None:
        self.epoch += 1

    def _after_fork_in_child(self) -> None:
        self._reset()


def _rebuild_block(arena: Arena, offset: int, size: int) -> Block:
    return Block(None, arena, offset, size, size_class(size), False)


class BufferWrapper:
    """``size`` bytes of the shared heap, as ``multiprocessing.heap.BufferWrapper``.

    The memory is zero-filled and shared with children that inherit it: pass the
    wrapper to a forked child, or as an argument of a process being started
    (it cannot travel through a queue or a pipe, like ``RawArray``).

    Args:
        size: the number of bytes, a non-negative int.

    Raises:
        ValueError: if ``size`` is negative.
        TypeError: if ``size`` is not an int.
    """

    def __init__(self, size: int) -> None:
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"BufferWrapper size must be an int, not {type(size).__name__}")
        if size < 0:
            raise ValueError(f"BufferWrapper size must be non-negative, not {size}")
        block = heap.malloc(size)
        if block.reused:
            block.memoryview()[:] = bytes(size)
        self._state = (block, size)

    def create_memoryview(self) -> memoryview:
        """Return a writable ``memoryview`` (format ``B``) of the wrapper's shared bytes."""
        block, size = self._state
        return block.memoryview()[:size]

    def __getstate__(self) -> tuple[Block, int]:
        return self._state

    def __setstate__(self, state: tuple[Block, int]) -> None:
        self._state = state

    def __repr__(self) -> str:
        return f"<BufferWrapper {self._state[1]} bytes>"


heap = Heap()
os.register_at_fork(before=heap._before_fork, after_in_child=heap._after_fork_in_child)
