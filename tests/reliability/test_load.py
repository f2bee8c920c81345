"""Load: a million queue items among 4 producers and 4 consumers, a million pool tasks,
32 concurrent manager clients, with every item checked and memory measured.

Memory is read from /proc/<pid>/statm at intervals (``RssWatcher``); a test fails when a
process grows by more than ``LEAK_BOUND`` after warm-up: generous for a working set, far
below what leaking even a few dozen bytes per item of a million would cost.  Nothing here
asserts a speed.
"""

from __future__ import annotations

import os
import time
from typing import Any

import load_targets
import processing
import pytest
from reliability_helpers import RssWatcher, count, self_and_children

LEAK_BOUND = 64 * 1024 * 1024
ITEMS = 4 * load_targets.PER_PRODUCER
WAIT = 240.0


def _pids(*processes: Any) -> list[int]:
    return [os.getpid(), *(p.pid for p in processes if p.pid is not None and p.is_alive())]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_million_queue_items_among_four_producers_and_four_consumers() -> None:
    ctx = processing.get_context("fork")
    queue, results = ctx.Queue(), ctx.Queue()
    producers = [ctx.Process(target=load_targets.produce, args=(queue, n)) for n in range(4)]
    consumers = [ctx.Process(target=load_targets.consume, args=(queue, results, ITEMS)) for _ in range(4)]
    everyone = producers + consumers
    with RssWatcher(lambda: _pids(*everyone)) as watcher:
        for process in everyone:
            process.start()
        for process in producers:
            process.join(WAIT)
            assert process.exitcode == 0
        queue.put_many([load_targets.STOP] * 4)
        seen = [results.get(timeout=WAIT) for _ in consumers]
        for process in consumers:
            process.join(WAIT)
            assert process.exitcode == 0
    totals = bytearray(ITEMS)
    for one in seen:
        for index in range(0, ITEMS, 1 << 16):  # summed in slices: cheap and exact
            chunk = bytes(a + b for a, b in zip(totals[index : index + (1 << 16)], one[index : index + (1 << 16)]))
            totals[index : index + (1 << 16)] = chunk
    missing = totals.count(0)
    duplicated = ITEMS - missing - totals.count(1)
    assert (missing, duplicated) == (0, 0)
    assert queue.empty()
    grown = watcher.growth()
    assert grown and max(grown.values()) < LEAK_BOUND, grown
    queue.close()
    results.close()
    queue.join_thread()
    results.join_thread()
    count("items carried", ITEMS)
    count("memory readings", watcher.readings())


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_million_pool_tasks() -> None:
    ctx = processing.get_context("fork")
    tasks = 1_000_000
    with ctx.Pool(2) as pool:
        with RssWatcher(self_and_children) as watcher:
            expected = 0
            for expected, got in enumerate(pool.imap(abs, range(0, -tasks, -1), chunksize=5000)):
                if got != expected:
                    pytest.fail(f"task {expected} returned {got}")
            assert expected == tasks - 1
            assert pool.map(abs, range(-3, 0)) == [3, 2, 1]  # still serving
        pool.close()
        pool.join()
    grown = watcher.growth()
    assert grown and max(grown.values()) < LEAK_BOUND, grown
    count("pool tasks run", tasks)
    count("memory readings", watcher.readings())


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_manager_serving_32_concurrent_clients() -> None:
    ctx = processing.get_context("fork")
    clients, rounds = 32, 100
    with processing.Manager() as manager:
        shared_list, shared_dict = manager.list(), manager.dict()
        lock, counter = manager.Lock(), manager.Value("i", 0)
        server_pid = manager._process.pid
        children = [
            ctx.Process(
                target=load_targets.hammer_manager, args=(shared_list, shared_dict, lock, counter, client, rounds)
            )
            for client in range(clients)
        ]
        with RssWatcher(lambda: [server_pid]) as watcher:
            for child in children:
                child.start()
            for child in children:
                child.join(WAIT)
                assert child.exitcode == 0
        assert counter.value == clients * rounds
        assert len(shared_dict) == clients * rounds
        appended = shared_list[:]
        assert sorted(appended) == sorted((c, i) for c in range(clients) for i in range(rounds))
        for c in range(clients):  # each client's appends kept their order
            assert [i for (who, i) in appended if who == c] == list(range(rounds))
    grown = watcher.growth()
    assert all(growth < LEAK_BOUND for growth in grown.values()), grown
    count("manager requests served", clients * rounds * 4)
    count("memory readings", watcher.readings())


def test_the_memory_watch_catches_a_leak() -> None:
    """The bound above can fail: a process that keeps what it allocates is caught."""
    kept = []
    with RssWatcher(lambda: [os.getpid()]) as watcher:
        for _ in range(48):
            kept.append(b"\x01" * (4 << 20))  # touched pages, not lazily zero-filled ones
            time.sleep(0.01)
        time.sleep(0.1)
    assert max(watcher.growth().values()) >= LEAK_BOUND
    del kept
