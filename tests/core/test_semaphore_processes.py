"""SemLock across processes: shared counts, handing over at child start, dead holders."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

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


# -- across start methods ------------------------------------------------------------------

sys.path.insert(0, str(Path(__file__).parent))  # spawned children import the targets by name
import shm_targets as targets  # noqa: E402


def test_semaphore_passed_to_a_child_counts_for_both(ctx) -> None:  # type: ignore[no-untyped-def]
    sem = SemLock(SEMAPHORE, 0, SEM_VALUE_MAX)
    p = ctx.Process(target=targets.release_n, args=(sem, 3))
    p.start()
    for _ in range(3):
        assert sem.acquire(timeout=30)
    p.join(30)
    assert p.exitcode == 0
    assert sem._get_value() == 0


def test_lock_passed_to_children_serialises_their_updates(ctx) -> None:  # type: ignore[no-untyped-def]
    from processing_core import RawValue

    lock = SemLock(SEMAPHORE, 1, 1)
    counter = RawValue("i", 0)
    workers = [ctx.Process(target=targets.count_under_lock, args=(lock, counter, 500)) for _ in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(60)
    assert [p.exitcode for p in workers] == [0, 0, 0]
    assert counter.value == 1500
    assert lock._get_value() == 1


def test_lock_held_by_a_child_blocks_the_parent_until_released(ctx) -> None:  # type: ignore[no-untyped-def]
    lock = SemLock(RECURSIVE_MUTEX, 1, 1)
    ready = SemLock(SEMAPHORE, 0, 1)
    done = SemLock(SEMAPHORE, 0, 1)
    p = ctx.Process(target=targets.hold_lock_then_report, args=(lock, ready, done))
    p.start()
    assert ready.acquire(timeout=30)
    assert lock.owner_pid == p.pid
    assert lock.acquire(timeout=0.05) is False
    done.release()
    assert lock.acquire(timeout=30)
    lock.release()
    p.join(30)
    assert p.exitcode == 0


def test_child_killed_holding_the_lock_is_detected(ctx) -> None:  # type: ignore[no-untyped-def]
    lock = SemLock(SEMAPHORE, 1, 1)
    ready = SemLock(SEMAPHORE, 0, 1)
    p = ctx.Process(target=targets.acquire_and_die, args=(lock, ready))
    p.start()
    assert ready.acquire(timeout=30)
    with pytest.raises(OwnerDiedError):
        lock.acquire(timeout=30)
    p.join(30)
    assert p.exitcode == -signal.SIGKILL
