"""SemLock across processes: shared counts, handing over at child start, dead holders."""

from __future__ import annotations

import os
import signal

import pytest
from processing_core._semaphore import RECURSIVE_MUTEX, SEM_VALUE_MAX, SEMAPHORE, OwnerDiedError, SemLock

pytestmark = pytest.mark.timeout(60)


def _fork(body) -> int:  # type: ignore[no-untyped-def]
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            code = body() or 0
        finally:
            os._exit(code)
    return pid


def _exit_code(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def test_fork_child_sees_the_same_semaphore() -> None:
    sem = SemLock(SEMAPHORE, 0, SEM_VALUE_MAX)
    done = SemLock(SEMAPHORE, 0, SEM_VALUE_MAX)

    def child() -> int:
        for _ in range(5):
            sem.release()
        return 0 if done.acquire(timeout=30) else 3

    pid = _fork(child)
    for _ in range(5):
        assert sem.acquire(timeout=30)
    done.release()
    assert _exit_code(pid) == 0


def test_lock_held_in_parent_blocks_fork_child() -> None:
    lock = SemLock(SEMAPHORE, 1, 1)
    checked = SemLock(SEMAPHORE, 0, 1)
    lock.acquire()

    def child() -> int:
        # The child's bookkeeping starts afresh, but the lock is still held.
        if lock._count() != 0 or lock._is_mine():
            return 4
        if lock.acquire(timeout=0.05):
            return 5
        checked.release()
        return 0 if lock.acquire(timeout=30) else 6

    pid = _fork(child)
    assert checked.acquire(timeout=30)
    lock.release()
    assert _exit_code(pid) == 0


def test_recursive_mutex_held_by_parent_is_not_the_fork_childs() -> None:
    rlock = SemLock(RECURSIVE_MUTEX, 1, 1)
    rlock.acquire()

    def child() -> int:
        if rlock._is_mine() or rlock._count() != 0:
            return 4
        try:
            rlock.release()
        except AssertionError:
            return 0
        return 5

    assert _exit_code(_fork(child)) == 0
    rlock.release()


@pytest.mark.parametrize("kind", [SEMAPHORE, RECURSIVE_MUTEX])
def test_holder_killed_while_holding_raises_owner_died(kind: int) -> None:
    lock = SemLock(kind, 1, 1)
    ready = SemLock(SEMAPHORE, 0, 1)

    def child() -> int:
        lock.acquire()
        ready.release()
        signal.pause()
        return 0

    pid = _fork(child)
    assert ready.acquire(timeout=30)
    os.kill(pid, signal.SIGKILL)
    # Even before the zombie is reaped, the holder counts as dead.
    with pytest.raises(OwnerDiedError, match=str(pid)):
        lock.acquire(timeout=30)
    assert lock._owner_is_dead()
    assert _exit_code(pid) == -signal.SIGKILL
    assert lock.acquire(timeout=0.05) is False


def test_owner_alive_is_not_reported_dead() -> None:
    lock = SemLock(SEMAPHORE, 1, 1)
    lock.acquire()
    assert not lock._owner_is_dead()
    lock.release()
    assert not lock._owner_is_dead()
