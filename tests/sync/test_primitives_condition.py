"""Condition and Event: one suite, run with processes (fork, spawn, forkserver) and threading twins."""

from __future__ import annotations

import pytest
import sync_twins
from sync_twins import Backend

WAIT = 30.0


def start_waiters(backend: Backend, cond, count: int, timeout: float | None = None):
    """Start ``count`` waiters and return once every one of them is asleep in ``wait``."""
    ready, woke = backend.Semaphore(0), backend.Semaphore(0)
    workers = [backend.start(sync_twins.wait_on_condition, cond, ready, woke, timeout) for _ in range(count)]
    for _ in range(count):
        assert ready.acquire(True, WAIT)
    # A waiter signals ``ready`` holding the lock, and gives it up only inside wait():
    # taking the lock here means every waiter is asleep.
    with cond:
        pass
    return workers, woke


def test_wait_and_notify_need_the_lock(backend: Backend) -> None:
    cond = backend.Condition()
    with pytest.raises(RuntimeError):
        cond.wait(0.01)
    with pytest.raises(RuntimeError):
        cond.notify()
    with pytest.raises(RuntimeError):
        cond.notify_all()


def test_wait_times_out_with_false(backend: Backend) -> None:
    cond = backend.Condition()
    with cond:
        assert cond.wait(0.05) is False
        assert cond.wait(0) is False
        assert cond.wait_for(lambda: False, 0.05) is False
        assert cond.wait_for(lambda: 42, 0.05) == 42


def test_notify_wakes_exactly_n(backend: Backend) -> None:
    cond = backend.Condition()
    workers, woke = start_waiters(backend, cond, 4)
    with cond:
        cond.notify(2)
    assert woke.acquire(True, WAIT)
    assert woke.acquire(True, WAIT)
    assert woke.acquire(True, 0.3) is False  # no third wake-up
    with cond:
        cond.notify()
    assert woke.acquire(True, WAIT)
    assert woke.acquire(True, 0.3) is False
    with cond:
        cond.notify_all()
    assert woke.acquire(True, WAIT)
    assert backend.join(*workers) == [0, 0, 0, 0]


def test_notify_all_wakes_everyone(backend: Backend) -> None:
    cond = backend.Condition(backend.Lock())
    workers, _woke = start_waiters(backend, cond, 3)
    with cond:
        cond.notify_all()
    assert backend.join(*workers) == [0, 0, 0]


def test_notify_without_waiters_is_not_remembered(backend: Backend) -> None:
    cond = backend.Condition()
    with cond:
        cond.notify()
        cond.notify_all()
        assert cond.wait(0.05) is False


def test_waiter_that_timed_out_does_not_swallow_a_later_notify(backend: Backend) -> None:
    cond = backend.Condition()
    early, _ = start_waiters(backend, cond, 1, timeout=0.05)
    assert backend.join(*early) == [5]
    workers, woke = start_waiters(backend, cond, 2)
    with cond:
        cond.notify(2)
    assert woke.acquire(True, WAIT)
    assert woke.acquire(True, WAIT)
    assert backend.join(*workers) == [0, 0]


def test_wait_for_a_shared_value(backend: Backend) -> None:
    cond, value, ready = backend.Condition(), backend.Value("i", 0), backend.Semaphore(0)
    worker = backend.start(sync_twins.wait_for_value, cond, value, 3, ready)
    assert ready.acquire(True, WAIT)
    for _ in range(3):
        with cond:
            value.value += 1
            cond.notify_all()
    assert backend.join(worker) == [0]


def test_wait_releases_a_recursively_held_lock(backend: Backend) -> None:
    lock = backend.RLock()
    cond = backend.Condition(lock)
    with cond, cond:
        assert cond.wait(0.05) is False
        # Still held twice by us: a worker cannot take it.
        worker = backend.start(sync_twins.try_acquire, lock)
        assert backend.join(worker) == [4]
    worker = backend.start(sync_twins.try_acquire, lock)
    assert backend.join(worker) == [0]


def test_event_set_clear_wait(backend: Backend) -> None:
    event = backend.Event()
    assert event.is_set() is False
    assert event.wait(0.05) is False
    event.set()
    assert event.is_set() is True
    assert event.wait() is True
    assert event.wait(0.05) is True
    event.clear()
    assert event.is_set() is False
    assert event.wait(0) is False


def test_event_set_wakes_every_waiter(backend: Backend) -> None:
    event, ready = backend.Event(), backend.Semaphore(0)
    workers = [backend.start(sync_twins.wait_on_event, event, ready, WAIT) for _ in range(3)]
    for _ in range(3):
        assert ready.acquire(True, WAIT)
    setter = backend.start(sync_twins.set_event, event)
    assert backend.join(setter, *workers) == [0, 0, 0, 0]
    assert event.is_set()


def test_event_wait_times_out_in_a_worker(backend: Backend) -> None:
    event, ready = backend.Event(), backend.Semaphore(0)
    worker = backend.start(sync_twins.wait_on_event, event, ready, 0.05)
    assert backend.join(worker) == [5]


@pytest.mark.slow
def test_producer_and_consumers_lose_no_wake_up(backend: Backend) -> None:
    """Items put one at a time with notify(): every consumer gets its share, nobody sleeps through."""
    cond, stock, taken = backend.Condition(), backend.Value("i", 0), backend.Value("i", 0)
    workers = [backend.start(sync_twins.consume, cond, stock, taken, 100) for _ in range(3)]
    for _ in range(300):
        with cond:
            stock.value += 1
            cond.notify()
    assert backend.join(*workers) == [0, 0, 0]
    assert (stock.value, taken.value) == (0, 300)
