"""Queues between processes, under every start method (fork, spawn, forkserver)."""

from __future__ import annotations

import zlib
from typing import Any

import processing_core
import pytest
import queue_workers
from processing_sync import Empty, JoinableQueue, Queue, SimpleQueue
from queue_workers import STOP

WAIT = 60.0


@pytest.fixture
def ctx(start_method: str) -> Any:
    return processing_core.get_context(start_method)


def _start(ctx: Any, target: Any, *args: Any) -> Any:
    process = ctx.Process(target=target, args=args)
    process.start()
    return process


def _join_all(processes: list[Any]) -> None:
    for process in processes:
        process.join(WAIT)
        assert process.exitcode == 0, process


def _checksum(items: list[Any]) -> int:
    return sum(zlib.crc32(repr(item).encode()) for item in items)


@pytest.mark.parametrize("batched", [False, True], ids=["put-get", "put_many-get_many"])
def test_many_producers_and_consumers_account_for_every_item(ctx: Any, batched: bool) -> None:
    producers, consumers, count = 3, 2, 2000
    q = ctx.Queue(buffer_size=16 * 1024)  # small: the ring fills and empties many times
    results = ctx.Queue()
    workers = [_start(ctx, queue_workers.consume, q, results, batched) for _ in range(consumers)]
    makers = [_start(ctx, queue_workers.produce, q, p, count, 50 if batched else 0) for p in range(producers)]
    _join_all(makers)
    for _ in range(consumers):
        q.put(STOP)
    reports = [results.get(timeout=WAIT) for _ in range(consumers)]
    _join_all(workers)
    expected = [(p, i) for p in range(producers) for i in range(count)]
    assert sum(report[0] for report in reports) == len(expected)
    assert sum(report[1] for report in reports) == _checksum(expected)
    assert all(report[2] for report in reports), "a consumer saw a producer's items out of order"


def test_order_per_producer_with_one_consumer(ctx: Any) -> None:
    q = ctx.Queue(buffer_size=8192)
    makers = [_start(ctx, queue_workers.produce, q, p, 1000) for p in range(2)]
    seen: dict[int, list[int]] = {0: [], 1: []}
    for _ in range(2000):
        producer, i = q.get(timeout=WAIT)
        seen[producer].append(i)
    _join_all(makers)
    assert seen == {0: list(range(1000)), 1: list(range(1000))}


def test_a_process_that_puts_and_exits_at_once_loses_nothing(ctx: Any) -> None:
    q = ctx.Queue(buffer_size=4096)  # most items stay in the child's buffer at first
    items = [("item", i, "p" * 100) for i in range(300)]
    child = _start(ctx, queue_workers.put_and_exit, q, items)
    got = [q.get(timeout=WAIT) for _ in items]
    _join_all([child])
    assert got == items


def test_objects_larger_than_the_ring_between_processes(ctx: Any) -> None:
    q = ctx.Queue(buffer_size=64 * 1024)
    sizes = [100_000, 3 * 1024 * 1024]
    children = [_start(ctx, queue_workers.put_big, q, size, seed) for seed, size in enumerate(sizes)]
    got = sorted((q.get(timeout=WAIT) for _ in sizes), key=len)
    _join_all(children)
    assert got == [queue_workers.payload(size, seed) for seed, size in enumerate(sizes)]


def test_bounded_queue_blocks_a_child_until_there_is_room(ctx: Any) -> None:
    q = ctx.Queue(1)
    flag = ctx.Queue()
    child = _start(ctx, queue_workers.put_one_then_wait, q, flag)
    assert flag.get(timeout=WAIT) == "ready"
    with pytest.raises(Empty):
        flag.get(timeout=0.05)
    assert q.full()
    assert child.is_alive()  # blocked on the second put
    assert q.get(timeout=WAIT) == "first"
    assert q.get(timeout=WAIT) == "second"
    _join_all([child])


def test_joinable_queue_between_processes(ctx: Any) -> None:
    tasks = ctx.JoinableQueue()
    results = ctx.SimpleQueue()
    child = _start(ctx, queue_workers.echo_sum, tasks, results)
    tasks.put_many(range(100))
    tasks.put(None)
    tasks.join()  # every item, the None too, was marked done in the child
    assert results.get() == sum(range(100))
    _join_all([child])


def test_simple_queue_between_processes(ctx: Any) -> None:
    q = ctx.SimpleQueue()
    child = _start(ctx, queue_workers.put_and_exit, q, list(range(100)))
    assert [q.get() for _ in range(100)] == list(range(100))
    _join_all([child])
    assert q.empty()


def test_queue_classes_are_the_context_ones(ctx: Any) -> None:
    assert isinstance(ctx.Queue(), Queue)
    assert isinstance(ctx.JoinableQueue(), JoinableQueue)
    assert isinstance(ctx.SimpleQueue(), SimpleQueue)


def test_queue_handed_to_pool_initializers(start_method: str) -> None:
    from processing_pool import Pool

    ctx = processing_core.get_context(start_method)
    q = ctx.Queue()
    with Pool(2, queue_workers.remember_queue, (q,), context=ctx) as pool:
        assert sorted(pool.map(queue_workers.report_through_remembered_queue, range(20))) == list(range(20))
        got = sorted(q.get(timeout=WAIT) for _ in range(20))
    pool.join()
    assert got == [x * 10 for x in range(20)]
