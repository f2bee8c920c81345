"""ThreadPool specifics: life cycle, callbacks in threads, unpicklable objects welcome."""

from __future__ import annotations

import threading
import time

import processing_core
import pytest
from processing_pool import ThreadPool


def test_threads_take_unpicklable_things() -> None:
    lock = threading.Lock()
    with ThreadPool(2) as pool:
        assert pool.map(lambda x: (x, lock.locked()), range(3)) == [(0, False), (1, False), (2, False)]
        assert pool.apply(lambda: 5) == 5


def test_initializer_runs_per_thread() -> None:
    names: list[str] = []
    pool = ThreadPool(3, initializer=lambda: names.append(threading.current_thread().name))
    pool.close()
    pool.join()
    assert len(names) == 3


def test_close_join_waits_for_imap_to_finish() -> None:
    pool = ThreadPool(2)
    iterator = pool.imap(lambda x: x + 1, range(10_000))
    pool.close()
    pool.join()
    assert sum(iterator) == sum(range(1, 10_001))


def test_terminate_fails_queued_tasks() -> None:
    pool = ThreadPool(1)
    running = pool.apply_async(time.sleep, (0.3,))
    queued = [pool.apply_async(lambda: 1) for _ in range(5)]
    time.sleep(0.05)
    pool.terminate()
    pool.join()
    assert running.get(5) is None
    for result in queued:
        with pytest.raises(processing_core.ProcessError, match="terminated"):
            result.get(5)


def test_bad_sizes() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ThreadPool(0)
    with pytest.raises(TypeError):
        ThreadPool(1, initializer=3)


def test_collected_thread_pool_lets_its_threads_go() -> None:
    import gc

    pool = ThreadPool(2)
    assert pool.apply(lambda: 3) == 3
    threads = list(pool._backend._threads)
    del pool
    gc.collect()
    for thread in threads:
        thread.join(10)
    assert not any(thread.is_alive() for thread in threads)
