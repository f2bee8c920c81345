"""The shared heap: alignment, size classes, reuse after collection, churn, fork rules."""

from __future__ import annotations

import gc
import itertools
import os
import random

import pytest
from processing_core._heap import ALIGNMENT, LARGE_BLOCK, Heap, size_class

pytestmark = pytest.mark.timeout(60)


def test_size_classes_cover_the_request_and_are_aligned() -> None:
    for size in [0, 1, 15, 16, 17, 1000, 1024, 1025, 5000, LARGE_BLOCK]:
        rounded = size_class(size)
        assert rounded >= max(size, 1)
        assert rounded % ALIGNMENT == 0


def test_blocks_are_aligned_distinct_and_writable() -> None:
    heap = Heap()
    blocks = [heap.malloc(random.randrange(1, 3000)) for _ in range(500)]
    spans = sorted((b.address(), b.address() + b.size) for b in blocks)
    assert all(start % ALIGNMENT == 0 for start, _ in spans)
    assert all(end <= next_start for (_, end), (next_start, _) in itertools.pairwise(spans))
    for i, block in enumerate(blocks):
        view = block.memoryview()
        view[:] = bytes([i % 256]) * block.size
        view.release()
    assert all(bytes(b.memoryview()[:1]) == bytes([i % 256]) for i, b in enumerate(blocks))
    assert heap.arenas_created == 1


def test_many_small_blocks_share_a_few_arenas() -> None:
    heap = Heap()
    blocks = [heap.malloc(8) for _ in range(10000)]
    assert heap.arenas_created == 1
    assert len({b.arena for b in blocks}) == 1


def test_freed_blocks_are_reused_and_marked_for_zeroing() -> None:
    heap = Heap()
    first = heap.malloc(100)
    where = (first.arena, first.offset)
    del first
    gc.collect()
    assert heap.free_blocks() == 1
    again = heap.malloc(97)  # the same size class (112 bytes)
    assert (again.arena, again.offset) == where
    assert again.reused


def test_large_blocks_get_their_own_arena() -> None:
    heap = Heap()
    big = heap.malloc(LARGE_BLOCK + 1)
    assert big.offset == 0 and big.arena.size >= LARGE_BLOCK + 1
    del big
    assert heap.free_blocks() == 0


def test_churn_keeps_memory_bounded() -> None:
    heap = Heap()
    rng = random.Random(7)
    live: list = []
    for _ in range(20000):
        if live and rng.random() < 0.5:
            live.pop(rng.randrange(len(live)))
        else:
            live.append(heap.malloc(rng.choice([8, 24, 100, 400, 2000])))
    # Freed blocks were reused: the churn fits in the first arena.
    assert heap.arenas_created == 1
    assert len(live) + heap.free_blocks() < 20000


def test_blocks_alive_across_a_fork_are_not_reused() -> None:
    heap = Heap()
    os.register_at_fork(before=heap._before_fork, after_in_child=heap._after_fork_in_child)
    kept = heap.malloc(64)
    kept.memoryview()[:4] = b"keep"
    pid = os.fork()
    if pid == 0:
        # The child allocates from arenas of its own, and sees the parent's block.
        own = heap.malloc(64)
        ok = own.arena is not kept.arena and bytes(kept.memoryview()[:4]) == b"keep"
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    del kept
    assert heap.free_blocks() == 0  # the child may still have been using it


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="size"):
        Heap().malloc(-1)
    with pytest.raises(ValueError, match="page size"):
        Heap(arena_size=1000)


def test_an_arena_whose_descriptor_was_closed_by_others_is_not_handed_over() -> None:
    from processing_core._reduction import ForkingPickler, spawning_popen

    class Launcher:
        def duplicate_for_child(self, fd: int) -> int:
            return fd

    block = Heap().malloc(8)
    os.close(block.arena.fd)
    with open(os.devnull) as other, spawning_popen(Launcher()), pytest.raises(OSError, match="closed"):
        assert other.fileno() >= 0  # most likely the same number, now another file
        ForkingPickler.dumps(block)
