"""Quick calls (native/quick_calls.h): C functions named prc_quick_* keep the GIL.

The lock fast path depends on it for speed, and everything else depends on the opposite:
an ordinary call must drop the GIL, or a thread blocked in C would stop every other
thread of its process.
"""

from __future__ import annotations

import threading

import pytest
from processing_core import _semaphore
from processing_core._native import lib


def test_a_quick_call_runs_with_the_gil_held() -> None:
    assert lib.prc_quick_call_holds_gil() == 1


def test_an_ordinary_call_runs_with_the_gil_released() -> None:
    assert lib.prc_call_holds_gil() == 0


def test_the_lock_fast_path_uses_quick_calls() -> None:
    assert _semaphore._enter is lib.prc_quick_sem_try_enter
    assert _semaphore._release is lib.prc_quick_sem_release


@pytest.mark.timeout(30)
def test_a_thread_waiting_on_a_held_lock_lets_other_threads_run() -> None:
    # The quick attempt fails; the wait that follows must release the GIL.
    lock = _semaphore.SemLock(_semaphore.SEMAPHORE, 1, 1)
    lock.acquire()
    entered = threading.Event()

    def waiter() -> None:
        with lock:
            entered.set()

    thread = threading.Thread(target=waiter)
    thread.start()
    progress = 0
    while progress < 200_000:  # pure Python work: needs the GIL the waiter must not hold
        progress += 1
    assert not entered.is_set()
    lock.release()
    thread.join(10)
    assert entered.is_set()
