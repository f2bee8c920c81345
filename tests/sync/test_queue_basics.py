"""Queue, JoinableQueue and SimpleQueue within one process: the API and its edge cases."""

from __future__ import annotations

import os
import pickle
import queue as stdlib_queue
import threading
import time

import processing
import processing_core
import processing_sync
import pytest
from processing_sync import Empty, Full, JoinableQueue, Queue, SimpleQueue

SHORT = 0.05


def test_empty_and_full_are_the_standard_library_exceptions() -> None:
    assert Empty is stdlib_queue.Empty
    assert Full is stdlib_queue.Full
    assert processing.Queue is Queue
    assert processing.JoinableQueue is JoinableQueue
    assert processing.SimpleQueue is SimpleQueue
    for name in ("Queue", "JoinableQueue", "SimpleQueue", "Empty", "Full"):
        assert name in processing_sync.__all__


def test_put_get_keeps_order_and_values() -> None:
    q = Queue()
    items = [0, -1, 2**70, 3.5, "text", b"bytes", None, True, (1, "a"), [1, [2]], {"k": {1, 2}}, 1j]
    for item in items:
        q.put(item)
    assert q.qsize() == len(items)
    assert [q.get() for _ in items] == items
    assert q.empty()


def test_get_on_empty_queue_raises_empty() -> None:
    q = Queue()
    with pytest.raises(Empty):
        q.get(False)
    with pytest.raises(Empty):
        q.get_nowait()
    with pytest.raises(Empty):
        q.get(True, SHORT)
    with pytest.raises(Empty):
        q.get(timeout=0)
    with pytest.raises(ValueError, match="non-negative"):
        q.get(True, -1)


def test_bounded_queue_full_and_timeouts() -> None:
    q = Queue(2)
    q.put(1)
    q.put_nowait(2)
    assert q.full()
    assert q.qsize() == 2
    with pytest.raises(Full):
        q.put(3, False)
    with pytest.raises(Full):
        q.put_nowait(3)
    with pytest.raises(Full):
        q.put(3, True, SHORT)
    assert q.get() == 1
    assert not q.full()
    q.put(3, True, SHORT)
    assert [q.get(), q.get()] == [2, 3]


def test_bounded_put_waits_for_a_get_in_another_thread() -> None:
    q = Queue(1)
    q.put("a")
    taker = threading.Timer(0.1, q.get)
    taker.start()
    q.put("b", timeout=30)  # returns once the timer's get made room
    taker.join()
    assert q.get_nowait() == "b"


def test_unbounded_put_never_blocks_even_when_the_ring_is_full() -> None:
    q = Queue(buffer_size=4096)
    items = [("x" * 200, i) for i in range(500)]  # ~100 kB: far more than the ring holds
    for item in items:
        q.put(item, timeout=0)  # would raise Full if it had to wait
    assert q.qsize() == len(items)  # counts the items this process still buffers
    assert [q.get(timeout=30) for _ in items] == items
    q.close()
    q.join_thread()


def test_put_many_and_get_many() -> None:
    q = Queue()
    q.put_many(range(10))
    q.put_many([])
    assert q.get_many(max_messages=3) == [0, 1, 2]
    assert q.get_many() == list(range(3, 10))
    with pytest.raises(Empty):
        q.get_many(timeout=SHORT)
    with pytest.raises(Empty):
        q.get_many(block=False)
    with pytest.raises(ValueError, match="max_messages"):
        q.get_many(max_messages=0)


def test_get_many_mixes_large_and_small_items_in_order() -> None:
    q = Queue(buffer_size=64 * 1024)
    big = b"B" * 200_000  # larger than the whole ring
    q.put_many([1, big, 2, 3, big, 4])
    got = []
    while len(got) < 6:
        got.extend(q.get_many(timeout=30))
    assert got == [1, big, 2, 3, big, 4]


def test_bounded_put_many_reports_how_many_went_in() -> None:
    q = Queue(3)
    with pytest.raises(Full, match="3 of 5"):
        q.put_many(range(5), timeout=SHORT)
    assert [q.get() for _ in range(3)] == [0, 1, 2]


def test_objects_larger_than_the_ring() -> None:
    q = Queue(buffer_size=4096)
    for size in (4096, 10_000, 3 * 1024 * 1024):
        payload = bytes(range(256)) * (size // 256)
        q.put(payload)
        assert q.get(timeout=30) == payload
    s = SimpleQueue(buffer_size=4096)
    s.put(b"y" * 100_000)
    assert s.get() == b"y" * 100_000


def test_unpicklable_object_fails_at_put_and_the_queue_stays_usable() -> None:
    for q in (Queue(), Queue(3), JoinableQueue(), SimpleQueue()):
        with pytest.raises((TypeError, pickle.PicklingError, AttributeError)):
            q.put(threading.Lock())
        with pytest.raises((TypeError, pickle.PicklingError, AttributeError)):
            q.put_many([1, lambda: None, 2])  # nothing of the batch goes in
        q.put("after")
        assert q.get() == "after"
        assert q.empty()


def test_qsize_empty_full_snapshots() -> None:
    q = Queue()
    assert q.qsize() == 0 and q.empty() and not q.full()
    q.put(1)
    assert q.qsize() == 1 and not q.empty() and not q.full()
    s = SimpleQueue()
    assert s.empty()
    s.put(1)
    assert not s.empty()


def test_closed_queue_refuses_put_and_get() -> None:
    q = Queue()
    q.put(1)
    with pytest.raises(ValueError, match="before close"):
        q.join_thread()
    q.close()
    with pytest.raises(ValueError, match="closed"):
        q.put(2)
    with pytest.raises(ValueError, match="closed"):
        q.get()
    q.join_thread()
    s = SimpleQueue()
    s.close()
    with pytest.raises(ValueError, match="closed"):
        s.put(1)


def test_cancel_join_thread_is_allowed_any_time() -> None:
    q = Queue(buffer_size=4096)
    q.cancel_join_thread()
    for i in range(100):
        q.put("z" * 100)
    assert [q.get(timeout=30) for _ in range(100)] == ["z" * 100] * 100


def test_legacy_names_are_the_same_callables() -> None:
    assert Queue.putMany is Queue.put_many
    assert Queue.putNoWait is Queue.put_nowait
    assert Queue.getNoWait is Queue.get_nowait
    assert Queue.joinThread is Queue.join_thread
    assert Queue.cancelJoin is Queue.cancel_join_thread


def test_joinable_queue_accounting() -> None:
    q = JoinableQueue()
    q.put(1)
    q.put_many([2, 3])
    for _ in range(3):
        q.get()
        q.task_done()
    q.join()  # returns at once: every task is done
    with pytest.raises(ValueError, match="task_done"):
        q.task_done()
    q.put(4)
    finished = threading.Event()

    def joiner() -> None:
        q.join()
        finished.set()

    thread = threading.Thread(target=joiner)
    thread.start()
    assert not finished.wait(SHORT)
    q.get()
    q.task_done()
    assert finished.wait(30)
    thread.join()


def test_joinable_queue_counts_buffered_items_at_put() -> None:
    q = JoinableQueue(buffer_size=4096)
    for _ in range(200):
        q.put("w" * 100)  # most are buffered by this process
    assert not _joined_within(q, SHORT)
    for _ in range(200):
        q.get(timeout=30)
        q.task_done()
    q.join()


def _joined_within(q: JoinableQueue, seconds: float) -> bool:
    done = threading.Event()
    thread = threading.Thread(target=lambda: (q.join(), done.set()), daemon=True)
    thread.start()
    return done.wait(seconds)


def test_pickling_a_queue_outside_process_start_raises() -> None:
    for q in (Queue(), JoinableQueue(), SimpleQueue()):
        with pytest.raises(RuntimeError, match="inheritance"):
            pickle.dumps(q)


def test_bad_arguments_are_named() -> None:
    with pytest.raises(ValueError, match="buffer_size"):
        Queue(buffer_size=0)
    with pytest.raises(TypeError, match="maxsize"):
        Queue("3")  # type: ignore[arg-type]
    assert Queue(-5).full() is False  # negative means unbounded, as in multiprocessing


def test_context_methods_make_queues() -> None:
    ctx = processing_core.get_context("spawn")
    assert isinstance(ctx.Queue(2), Queue)
    assert isinstance(ctx.JoinableQueue(), JoinableQueue)
    assert isinstance(ctx.SimpleQueue(), SimpleQueue)


def test_repr_follows_0_52() -> None:
    assert repr(Queue()).startswith("<processing_sync._queues.Queue object at 0x")


def test_many_threads_put_and_get() -> None:
    q = Queue(buffer_size=8192)
    out: list[int] = []
    lock = threading.Lock()

    def producer(base: int) -> None:
        for i in range(500):
            q.put(base + i)

    def consumer() -> None:
        for _ in range(1000):
            item = q.get(timeout=30)
            with lock:
                out.append(item)

    threads = [threading.Thread(target=producer, args=(k * 1000,)) for k in range(4)]
    threads += [threading.Thread(target=consumer) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(out) == sorted(k * 1000 + i for k in range(4) for i in range(500))


def test_an_emptied_ring_gives_its_memory_back() -> None:
    q = Queue(buffer_size=16 * 1024 * 1024)
    q.put_many([b"m" * 100_000] * 120)  # a 12 MB backlog (most of the ring), in the ring itself
    assert os.fstat(q._ring.fd).st_blocks * 512 > 4 * 1024 * 1024
    # Pages are given back at most every half second, and not in a ring's first half
    # second (a queue streaming large items would otherwise fault its ring in again and
    # again): let that pass.
    time.sleep(0.6)
    taken = 0
    while taken < 120:
        taken += len(q.get_many(timeout=30))
    # Only the first megabyte of the data area (and the header) stays resident.
    assert os.fstat(q._ring.fd).st_blocks * 512 <= 2 * 1024 * 1024
