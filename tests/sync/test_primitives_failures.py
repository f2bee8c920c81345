"""Ctrl-C while waiting, a holder that dies, and pickling outside of a child's start."""

from __future__ import annotations

import pickle
import signal
import threading

import pytest
import sync_twins
from sync_twins import Backend

WAIT = 30.0


def interrupt_main_thread_soon(delay: float = 0.2) -> threading.Timer:
    """Deliver SIGINT (what Ctrl-C sends) to the main thread after ``delay`` seconds."""
    timer = threading.Timer(delay, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.timeout(60)
def test_ctrl_c_interrupts_a_blocked_lock_acquire(backend: Backend) -> None:
    lock = backend.Lock()
    lock.acquire()
    timer = interrupt_main_thread_soon()
    with pytest.raises(KeyboardInterrupt):
        lock.acquire()
    timer.join()
    lock.release()
    assert lock.acquire(False)
    lock.release()


@pytest.mark.timeout(60)
def test_ctrl_c_interrupts_a_semaphore_wait_with_a_timeout(backend: Backend) -> None:
    sem = backend.Semaphore(0)
    timer = interrupt_main_thread_soon()
    with pytest.raises(KeyboardInterrupt):
        sem.acquire(True, WAIT)
    timer.join()
    sem.release()
    assert sem.acquire(False)


@pytest.mark.timeout(60)
def test_ctrl_c_in_condition_wait_leaves_it_consistent(backend: Backend) -> None:
    cond = backend.Condition()
    timer = interrupt_main_thread_soon()
    with cond:
        with pytest.raises(KeyboardInterrupt):
            cond.wait()
        # The lock is held again after the interrupted wait, as in threading.
        assert cond.wait(0.01) is False
    timer.join()
    # A later notify reaches a real waiter, not the interrupted one.
    ready, woke = backend.Semaphore(0), backend.Semaphore(0)
    worker = backend.start(sync_twins.wait_on_condition, cond, ready, woke, None)
    assert ready.acquire(True, WAIT)
    with cond:
        cond.notify()
    assert backend.join(worker) == [0]


@pytest.mark.timeout(60)
def test_ctrl_c_interrupts_an_event_wait(backend: Backend) -> None:
    event = backend.Event()
    timer = interrupt_main_thread_soon()
    with pytest.raises(KeyboardInterrupt):
        event.wait()
    timer.join()
    # The interrupted waiter left cleanly: a set() and a later waiter work as usual.
    event.set()
    assert event.wait(0)
    event.clear()
    ready = backend.Semaphore(0)
    worker = backend.start(sync_twins.wait_on_event, event, ready, WAIT)
    assert ready.acquire(True, WAIT)
    event.set()
    assert backend.join(worker) == [0]


@pytest.mark.timeout(60)
def test_ctrl_c_interrupts_a_barrier_wait(backend: Backend) -> None:
    barrier = backend.Barrier(2)
    timer = interrupt_main_thread_soon()
    with pytest.raises(KeyboardInterrupt):
        barrier.wait()
    timer.join()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("kind", ["Lock", "RLock"])
def test_a_holder_killed_holding_the_lock_gives_owner_died(process_backend: Backend, kind: str) -> None:
    from processing_core import OwnerDiedError

    lock, held = getattr(process_backend, kind)(), process_backend.Semaphore(0)
    worker = process_backend.start(sync_twins.hold_and_die, lock, held)
    assert held.acquire(True, WAIT)
    worker.join(WAIT)
    assert worker.exitcode == -signal.SIGKILL
    with pytest.raises(OwnerDiedError):
        lock.acquire(True, WAIT)


@pytest.mark.parametrize(
    "make",
    [
        lambda b: b.Lock(),
        lambda b: b.RLock(),
        lambda b: b.Semaphore(2),
        lambda b: b.BoundedSemaphore(2),
        lambda b: b.Condition(),
        lambda b: b.Event(),
        lambda b: b.Barrier(2),
    ],
    ids=["Lock", "RLock", "Semaphore", "BoundedSemaphore", "Condition", "Event", "Barrier"],
)
def test_pickling_outside_a_child_start_names_the_type(make) -> None:
    obj = make(sync_twins.Backend("spawn"))
    with pytest.raises(RuntimeError, match=type(obj).__name__):
        pickle.dumps(obj)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_waiter_killed_in_condition_wait_hangs_nobody(process_backend: Backend) -> None:
    cond, ready, woke = process_backend.Condition(), process_backend.Semaphore(0), process_backend.Semaphore(0)
    doomed = process_backend.start(sync_twins.wait_on_condition_forever, cond, ready)
    assert ready.acquire(True, WAIT)
    with cond:  # the doomed waiter is asleep in wait()
        pass
    doomed.kill()
    doomed.join(WAIT)
    for _ in range(3):
        live = process_backend.start(sync_twins.wait_on_condition, cond, ready, woke, WAIT)
        assert ready.acquire(True, WAIT)
        with cond:
            cond.notify_all()
        assert process_backend.join(live) == [0]
    with cond:
        assert cond.wait(0.01) is False
