"""Locks and semaphores: one suite, run with processes (fork, spawn, forkserver) and threading twins."""

from __future__ import annotations

import pytest
import sync_twins
from sync_twins import Backend

WAIT = 30.0


def test_lock_acquire_release_and_return_values(backend: Backend) -> None:
    lock = backend.Lock()
    assert lock.acquire() is True
    assert lock.acquire(False) is False
    assert lock.acquire(True, 0.05) is False
    lock.release()
    assert lock.acquire(False) is True
    lock.release()
    with lock:
        assert lock.acquire(False) is False
    assert lock.acquire(False) is True
    lock.release()


def test_lock_held_elsewhere_blocks_then_frees(backend: Backend) -> None:
    lock, held, go = backend.Lock(), backend.Semaphore(0), backend.Semaphore(0)
    worker = backend.start(sync_twins.hold_until, lock, held, go)
    assert held.acquire(True, WAIT)
    assert lock.acquire(False) is False
    assert lock.acquire(True, 0.05) is False
    go.release()
    assert lock.acquire(True, WAIT) is True
    lock.release()
    assert backend.join(worker) == [0]


def test_lock_may_be_released_by_another_worker(backend: Backend) -> None:
    lock = backend.Lock()
    lock.acquire()
    worker = backend.start(sync_twins.release_once, lock)
    assert backend.join(worker) == [0]
    assert lock.acquire(False) is True
    lock.release()


def test_releasing_an_unlocked_lock_raises(backend: Backend) -> None:
    lock = backend.Lock()
    with pytest.raises(backend.release_unlocked_error):
        lock.release()
    # Still a working lock afterwards.
    assert lock.acquire(False) is True
    lock.release()


def test_rlock_is_recursive_and_owned(backend: Backend) -> None:
    rlock = backend.RLock()
    assert rlock.acquire() is True
    assert rlock.acquire() is True
    assert rlock.acquire(False) is True
    worker = backend.start(sync_twins.try_acquire, rlock)
    assert backend.join(worker) == [4]
    for _ in range(3):
        rlock.release()
    worker = backend.start(sync_twins.try_acquire, rlock)
    assert backend.join(worker) == [0]


def test_rlock_release_by_non_owner_raises(backend: Backend) -> None:
    rlock = backend.RLock()
    with pytest.raises(backend.rlock_not_owner_error):
        rlock.release()
    rlock.acquire()
    worker = backend.start(sync_twins.release_not_owned, rlock, backend.rlock_not_owner_error)
    assert backend.join(worker) == [0]
    rlock.release()


def test_semaphore_counts(backend: Backend) -> None:
    sem = backend.Semaphore(2)
    assert sem.acquire(False) is True
    assert sem.acquire(False) is True
    assert sem.acquire(False) is False
    assert sem.acquire(True, 0.05) is False
    sem.release()
    sem.release()
    sem.release()  # an unbounded semaphore may go above its initial value
    for _ in range(3):
        assert sem.acquire(False) is True
    assert sem.acquire(False) is False


def test_semaphore_zero_is_released_by_another_worker(backend: Backend) -> None:
    sem = backend.Semaphore(0)
    worker = backend.start(sync_twins.release_once, sem)
    assert sem.acquire(True, WAIT) is True
    assert backend.join(worker) == [0]


def test_bounded_semaphore_refuses_release_above_its_value(backend: Backend) -> None:
    sem = backend.BoundedSemaphore(2)
    with pytest.raises(ValueError):
        sem.release()
    sem.acquire()
    sem.release()
    with pytest.raises(ValueError):
        sem.release()


def test_semaphore_rejects_a_negative_value(backend: Backend) -> None:
    with pytest.raises(ValueError):
        backend.Semaphore(-1)
    with pytest.raises(ValueError):
        backend.BoundedSemaphore(-1)


@pytest.mark.slow
def test_semaphore_bounds_concurrency(backend: Backend) -> None:
    sem, inside = backend.Semaphore(2), backend.Value("i", 0)
    workers = [backend.start(sync_twins.bounded_section, sem, inside, 2, 20) for _ in range(4)]
    assert backend.join(*workers) == [0, 0, 0, 0]
    assert inside.value == 0


def test_many_workers_lose_no_update_under_a_lock(backend: Backend) -> None:
    counter = backend.Value("i", 0)
    workers = [backend.start(sync_twins.increment, counter, 500) for _ in range(4)]
    assert backend.join(*workers) == [0, 0, 0, 0]
    assert counter.value == 2000


def test_lock_and_rlock_as_context_managers_release_on_error(backend: Backend) -> None:
    for lock in (backend.Lock(), backend.RLock()):
        with pytest.raises(KeyError), lock:
            raise KeyError
        worker = backend.start(sync_twins.try_acquire, lock)
        assert backend.join(worker) == [0]
