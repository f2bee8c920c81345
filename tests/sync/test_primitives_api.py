"""Reprs as 0.52 printed them, the 0.52 names, the ``block`` keyword, and context methods."""

from __future__ import annotations

import threading
import time

import processing_sync as ps
import pytest
import sync_twins
from sync_twins import Backend

WAIT = 30.0


def in_thread(name: str, func):
    """Run ``func`` in a thread called ``name``; return its result."""
    result = []
    thread = threading.Thread(target=lambda: result.append(func()), name=name)
    thread.start()
    thread.join(WAIT)
    return result[0]


def test_lock_reprs() -> None:
    lock = ps.Lock()
    assert repr(lock) == "<Lock(owner=None)>"
    lock.acquire()
    assert repr(lock) == "<Lock(owner=MainProcess)>"
    lock.release()

    def take_and_show() -> str:
        lock.acquire()
        return repr(lock)

    assert in_thread("Thread-1", take_and_show) == "<Lock(owner=MainProcess|Thread-1)>"
    assert repr(lock) == "<Lock(owner=SomeOtherThread)>"
    lock.release()
    assert repr(lock) == "<Lock(owner=None)>"


def test_rlock_reprs() -> None:
    rlock = ps.RLock()
    assert repr(rlock) == "<RLock(None, 0)>"
    rlock.acquire()
    rlock.acquire()
    assert repr(rlock) == "<RLock(MainProcess, 2)>"
    assert in_thread("Thread-1", lambda: repr(rlock)) == "<RLock(SomeOtherThread, nonzero)>"
    rlock.release()
    rlock.release()
    assert repr(rlock) == "<RLock(None, 0)>"


def test_condition_and_semaphore_reprs() -> None:
    cond = ps.Condition()
    assert repr(cond) == "<Condition(<RLock(None, 0)>, 0)>"
    with cond:
        assert repr(cond) == "<Condition(<RLock(MainProcess, 1)>, 0)>"
    assert repr(ps.Condition(ps.Lock())) == "<Condition(<Lock(owner=None)>, 0)>"
    assert repr(ps.Semaphore(3)) == "<Semaphore(value=3)>"
    assert repr(ps.BoundedSemaphore(2)) == "<BoundedSemaphore(value=2, maxvalue=2)>"


def test_lock_held_by_another_process_repr(process_backend: Backend) -> None:
    lock, held, go = ps.Lock(), ps.Semaphore(0), ps.Semaphore(0)
    rlock = ps.RLock()
    worker = process_backend.start(sync_twins.hold_until, lock, held, go)
    assert held.acquire(True, WAIT)
    assert repr(lock) == "<Lock(owner=SomeOtherProcess)>"
    go.release()
    assert process_backend.join(worker) == [0]
    worker = process_backend.start(sync_twins.hold_until, rlock, held, go)
    assert held.acquire(True, WAIT)
    assert repr(rlock) == "<RLock(SomeOtherProcess, nonzero)>"
    go.release()
    assert process_backend.join(worker) == [0]


def test_052_names_are_the_same_callables() -> None:
    assert ps.Semaphore.getValue is ps.Semaphore.get_value
    assert ps.Condition.notifyAll is ps.Condition.notify_all
    assert ps.Event.isSet is ps.Event.is_set
    assert ps.Semaphore(4).getValue() == 4


def test_acquire_takes_the_block_keyword() -> None:
    for lock in (ps.Lock(), ps.RLock(), ps.Semaphore(1), ps.BoundedSemaphore(1)):
        assert lock.acquire(block=False) is True
        if not isinstance(lock, ps.RLock):
            assert lock.acquire(block=False) is False
            assert lock.acquire(block=True, timeout=0.01) is False
        lock.release()
    cond = ps.Condition()
    assert cond.acquire(block=False) is True
    cond.release()


def test_condition_refuses_a_threading_lock() -> None:
    with pytest.raises(TypeError, match="Lock"):
        ps.Condition(threading.Lock())


def test_bad_semaphore_values() -> None:
    with pytest.raises(TypeError):
        ps.Semaphore("1")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        ps.Semaphore(-1)
    with pytest.raises(TypeError):
        ps.Barrier(2.5)  # type: ignore[arg-type]


def test_contexts_offer_the_primitives() -> None:
    from processing_core._context import get_context

    ctx = get_context("spawn")
    assert isinstance(ctx.Lock(), ps.Lock)
    assert isinstance(ctx.RLock(), ps.RLock)
    assert isinstance(ctx.Semaphore(2), ps.Semaphore)
    assert isinstance(ctx.BoundedSemaphore(2), ps.BoundedSemaphore)
    assert isinstance(ctx.Condition(), ps.Condition)
    assert isinstance(ctx.Event(), ps.Event)
    assert isinstance(ctx.Barrier(2), ps.Barrier)


def _wait_until(predicate) -> None:
    # No deadline of its own: the test's hard timeout (pytest-timeout) ends a hang.
    while not predicate():
        time.sleep(0.005)


def _event_sleepers(event: ps.Event) -> int:
    return event._sleepers.count()


def test_event_pulse_wakes_the_sleepers_and_not_a_later_waiter(process_backend: Backend) -> None:
    """set(); clear() wakes everyone asleep; a waiter arriving after it cannot take their wake-up."""
    event, ready = ps.Event(), ps.Semaphore(0)
    sleepers = [process_backend.start(sync_twins.wait_on_event, event, ready, WAIT) for _ in range(3)]
    _wait_until(lambda: _event_sleepers(event) == 3)
    event.set()
    event.clear()
    late = process_backend.start(sync_twins.wait_on_event, event, ready, 0.3)
    assert process_backend.join(late) == [5]
    assert process_backend.join(*sleepers) == [0, 0, 0]


def test_condition_notify_all_is_not_stolen_by_a_later_waiter(process_backend: Backend) -> None:
    cond = ps.Condition()
    ready, woke = ps.Semaphore(0), ps.Semaphore(0)
    early = [process_backend.start(sync_twins.wait_on_condition, cond, ready, woke, WAIT) for _ in range(3)]
    _wait_until(lambda: cond._sleepers.count() == 3)
    with cond:
        cond.notify_all()
    late = process_backend.start(sync_twins.wait_on_condition, cond, ready, woke, 0.3)
    assert process_backend.join(late) == [5]
    assert process_backend.join(*early) == [0, 0, 0]


def test_event_and_condition_hand_over_under_spawn_and_forkserver(process_backend: Backend) -> None:
    """The primitives pickled into a child work there (not only inherited by fork)."""
    event, cond = ps.Event(), ps.Condition()
    ready, woke = ps.Semaphore(0), ps.Semaphore(0)
    waiter = process_backend.start(sync_twins.wait_on_condition, cond, ready, woke, WAIT)
    assert ready.acquire(True, WAIT)
    with cond:
        cond.notify()
    setter = process_backend.start(sync_twins.set_event, event)
    assert event.wait(WAIT)
    assert process_backend.join(waiter, setter) == [0, 0]
