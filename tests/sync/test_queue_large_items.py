"""Large items and the ring's quick calls: pieces, reading in place, the backlog, no waiting."""

from __future__ import annotations

import errno
from typing import Any

import processing_core
import pytest
import queue_workers
from processing_core._native import ffi, lib
from processing_core._ring import Ring
from processing_sync import Queue, SimpleQueue

WAIT = 60.0
# Large ones of each kind (read in place or not), and small ones between them.
ITEMS: list[Any] = [
    b"q" * (1 << 20),
    "x" * (1 << 17),
    "\u00e9\udc80" * 40_000,  # text with a lone surrogate, as pickle carries it
    b"z" * 70_000,
    bytearray(b"k" * 200_000),
    (b"a" * 100_000, 1),
    "small",
    b"",
    "y" * (1 << 16),
]


def _check(got: list[Any], expected: list[Any]) -> None:
    assert [type(item) for item in got] == [type(item) for item in expected]
    assert got == expected


@pytest.mark.parametrize("maxsize", [0, 1000], ids=["unbounded", "bounded"])
def test_large_str_and_bytes_items_come_back_equal_and_of_their_type(maxsize: int) -> None:
    q = Queue(maxsize)
    for item in ITEMS:
        q.put(item)
    _check([q.get(timeout=WAIT) for _ in ITEMS], ITEMS)
    q.close()
    q.join_thread()


def test_simple_queue_carries_large_items() -> None:
    q = SimpleQueue()
    for item in ITEMS:
        q.put(item)
    _check([q.get() for _ in ITEMS], ITEMS)


def test_a_large_item_waiting_in_the_backlog_keeps_its_value_at_put() -> None:
    q = Queue(buffer_size=4 << 20)
    for _ in range(3):
        q.put(b"f" * (1 << 20))  # the ring is now too full for another megabyte
    mutable = bytearray(b"1" * (1 << 20))
    q.put(mutable)
    big = b"2" * (1 << 20)
    q.put(big)
    assert q._feeder.buffered() == 2
    mutable[:] = b"3" * len(mutable)  # after put: must not change what was sent
    got = [q.get(timeout=WAIT) for _ in range(5)]
    _check(got, [b"f" * (1 << 20)] * 3 + [bytearray(b"1" * (1 << 20)), big])
    q.close()
    q.join_thread()


def test_a_reader_failing_in_place_leaves_the_message_and_frees_the_lock() -> None:
    ring = Ring(1 << 20)
    message = b"m" * 200_000

    def fail(pointer: Any, length: int) -> Any:
        raise KeyboardInterrupt

    ring.put(message)
    with pytest.raises(KeyboardInterrupt):
        ring.get(WAIT, bytes, fail)
    # Declining leaves it too, and the ordinary decoder gets it.
    assert ring.get(WAIT, len, lambda pointer, length: NotImplemented) == len(message)
    ring.put(message)
    assert ring.get(WAIT, bytes, lambda pointer, length: ffi.unpack(pointer, length)) == message
    assert ring.count() == 0


def test_quick_calls_report_what_would_wait_instead_of_waiting() -> None:
    ring = Ring(1 << 20, maxsize=1)
    handle, out, buf = ring._handle, ffi.new("uint64_t[1]"), ffi.new("char[]", 100)
    assert lib.prc_quick_ring_try_get(handle, buf, 100, out) == -errno.EAGAIN  # empty
    assert lib.prc_quick_ring_try_put(handle, b"abc", 3, 0) == 0
    assert lib.prc_quick_ring_try_put(handle, b"abc", 3, 0) == -errno.EAGAIN  # full
    assert lib.prc_quick_ring_try_get(handle, buf, 2, out) == -errno.ENOBUFS
    assert out[0] == 3
    assert lib.prc_quick_ring_try_get(handle, buf, 100, out) == 0
    assert ffi.unpack(buf, int(out[0])) == b"abc"
    large = b"L" * 100_000
    assert lib.prc_quick_ring_try_put(handle, large, len(large), 0) == -errno.EAGAIN  # left to the ordinary call
    ring.put(large)
    assert lib.prc_quick_ring_try_get(handle, buf, 100, out) == -errno.E2BIG
    assert out[0] == len(large)
    assert ring.get(WAIT) == large


def test_large_items_from_a_child_that_exits_at_once(start_method: str) -> None:
    ctx = processing_core.get_context(start_method)
    q = ctx.Queue(buffer_size=2 << 20)  # most of these wait in the child's backlog
    items = [b"c" * (1 << 20), "d" * 300_000, b"e" * 500_000, b"f" * (1 << 20)]
    child = ctx.Process(target=queue_workers.put_and_exit, args=(q, items))
    child.start()
    got = [q.get(timeout=WAIT) for _ in items]
    child.join(WAIT)
    assert child.exitcode == 0
    _check(got, items)
