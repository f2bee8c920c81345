"""SemLock semantics within one process: counting, bounds, timeouts, ownership, signals."""

from __future__ import annotations

import os
import pickle
import signal
import threading

import pytest
from processing_core import ProcessError
from processing_core._semaphore import RECURSIVE_MUTEX, SEM_VALUE_MAX, SEMAPHORE, OwnerDiedError, SemLock

pytestmark = pytest.mark.timeout(30)


def test_counting_semaphore_counts_down_and_up() -> None:
    sem = SemLock(SEMAPHORE, 3, SEM_VALUE_MAX)
    assert [sem.acquire(False) for _ in range(4)] == [True, True, True, False]
    assert sem._is_zero()
    sem.release()
    assert sem._get_value() == 1
    assert not sem._is_zero()


def test_bounded_semaphore_refuses_release_past_maxvalue() -> None:
    sem = SemLock(SEMAPHORE, 2, 2)
    with pytest.raises(ValueError, match="released too many times"):
        sem.release()
    assert sem.acquire()
    sem.release()
    assert sem._get_value() == 2


def test_lock_released_twice_raises_value_error() -> None:
    lock = SemLock(SEMAPHORE, 1, 1)
    with lock:
        assert lock._is_mine()
        assert lock.owner_pid == os.getpid()
    assert lock.owner_pid is None
    with pytest.raises(ValueError):
        lock.release()


@pytest.mark.parametrize(
    ("kind", "value", "maxvalue"),
    [(2, 1, 1), (SEMAPHORE, -1, 5), (SEMAPHORE, 6, 5), (SEMAPHORE, 0, 0), (SEMAPHORE, 0, SEM_VALUE_MAX + 1)],
)
def test_bad_arguments_are_named(kind: int, value: int, maxvalue: int) -> None:
    with pytest.raises(ValueError, match=r"kind|value|maxvalue"):
        SemLock(kind, value, maxvalue)


def test_timeouts_and_nonblocking_attempts_fail_cleanly() -> None:
    lock = SemLock(SEMAPHORE, 0, 1)
    assert lock.acquire(timeout=0.05) is False
    assert lock.acquire(timeout=0) is False
    assert lock.acquire(timeout=-1) is False
    assert lock.acquire(block=False) is False
    assert lock.acquire(False, 10) is False  # block=False ignores the timeout


def test_blocked_acquire_is_woken_by_a_release_from_another_thread() -> None:
    sem = SemLock(SEMAPHORE, 0, SEM_VALUE_MAX)
    got = []
    waiters = [threading.Thread(target=lambda: got.append(sem.acquire(timeout=20))) for _ in range(4)]
    for t in waiters:
        t.start()
    for _ in waiters:
        sem.release()
    for t in waiters:
        t.join()
    assert got == [True] * 4
    assert sem._get_value() == 0


def test_recursive_mutex_counts_depth_and_belongs_to_its_thread() -> None:
    rlock = SemLock(RECURSIVE_MUTEX, 1, 1)
    assert rlock.acquire() and rlock.acquire()
    assert rlock._count() == 2
    assert rlock._is_mine()
    assert rlock.owner_tid is not None
    seen = {}

    def other() -> None:
        seen["mine"] = rlock._is_mine()
        seen["count"] = rlock._count()
        seen["got"] = rlock.acquire(timeout=0.05)
        try:
            rlock.release()
        except AssertionError as exc:
            seen["error"] = str(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen == {
        "mine": False,
        "count": 0,
        "got": False,
        "error": "attempt to release recursive lock not owned by thread",
    }
    rlock.release()
    rlock.release()
    assert rlock._count() == 0
    assert rlock.owner_pid is None
    with pytest.raises(AssertionError):
        rlock.release()


def test_semaphore_count_tracks_this_process_acquisitions() -> None:
    sem = SemLock(SEMAPHORE, 2, 2)
    sem.acquire()
    sem.acquire()
    assert sem._count() == 2
    sem.release()
    assert sem._count() == 1
    sem._after_fork()
    assert sem._count() == 0


def test_properties() -> None:
    sem = SemLock(SEMAPHORE, 1, 7)
    assert sem.kind == SEMAPHORE
    assert sem.maxvalue == 7
    assert isinstance(sem.handle, int) and sem.handle != 0
    assert sem.owner_pid is None and sem.owner_tid is None
    assert "SEMAPHORE" in repr(sem)


def test_pickling_outside_a_child_start_is_refused() -> None:
    with pytest.raises(RuntimeError, match="SemLock"):
        pickle.dumps(SemLock(SEMAPHORE, 1, 1))


def test_owner_died_error_is_a_process_error() -> None:
    assert issubclass(OwnerDiedError, ProcessError)


def test_ctrl_c_interrupts_a_blocked_acquire() -> None:
    lock = SemLock(SEMAPHORE, 0, 1)
    main = threading.get_ident()
    timer = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            lock.acquire()
    finally:
        timer.cancel()
        timer.join()


def test_acquire_resumes_after_a_signal_handler_returns() -> None:
    lock = SemLock(SEMAPHORE, 0, 1)
    handled = threading.Event()
    previous = signal.signal(signal.SIGUSR1, lambda *_: handled.set())
    main = threading.get_ident()

    def poke_then_release() -> None:
        # Keep signalling until the handler has run in the blocked main thread.
        while not handled.wait(0.05):
            signal.pthread_kill(main, signal.SIGUSR1)
        lock.release()

    helper = threading.Thread(target=poke_then_release)
    try:
        helper.start()
        assert lock.acquire(timeout=30) is True
        assert handled.is_set()
    finally:
        helper.join()
        signal.signal(signal.SIGUSR1, previous)


def test_many_locks_are_cheap_and_independent() -> None:
    locks = [SemLock(SEMAPHORE, 1, 1) for _ in range(20000)]
    assert all(lock.acquire(False) for lock in locks[::2])
    assert all(lock._get_value() == 1 for lock in locks[1::2])
    assert len({lock.handle for lock in locks}) == len(locks)


def test_freed_slots_are_reused_and_start_fresh() -> None:
    lock = SemLock(SEMAPHORE, 0, 1)
    handle = lock.handle
    del lock
    again = SemLock(SEMAPHORE, 1, 5)
    assert again.handle == handle
    assert again._get_value() == 1 and again.maxvalue == 5


def test_odd_but_valid_arguments() -> None:
    lock = SemLock(SEMAPHORE, 1, 1)
    assert lock.acquire(block=1, timeout=float("inf")) is True  # type: ignore[arg-type]
    assert lock.acquire(block=None) is False  # type: ignore[arg-type]
    assert lock.acquire(timeout=float("nan")) is False
    lock.release()


def test_slots_alive_across_a_fork_are_not_reused() -> None:
    lock = SemLock(SEMAPHORE, 1, 1)
    handle = lock.handle
    pid = os.fork()
    if pid == 0:
        os._exit(0 if lock.acquire(timeout=5) else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    del lock
    fresh = [SemLock(SEMAPHORE, 1, 1) for _ in range(10)]
    assert handle not in {other.handle for other in fresh}
