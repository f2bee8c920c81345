"""Module-level child targets for the shared memory, semaphore and heap tests
(spawned children import them by name)."""

from __future__ import annotations

import os
import signal
import time
from typing import Any


def write_shared_memory(name: str, data: bytes) -> None:
    from processing_core.shared_memory import SharedMemory

    shm = SharedMemory(name)
    shm.buf[: len(data)] = data
    shm.close()


def fill_shareable_list(shared: Any, values: list[Any]) -> None:
    for i, value in enumerate(values):
        shared[i] = value
    shared.shm.close()


def release_n(sem: Any, n: int) -> None:
    for _ in range(n):
        sem.release()


def hold_lock_then_report(lock: Any, ready: Any, done: Any) -> None:
    with lock:
        ready.release()
        done.acquire(timeout=30)


def count_under_lock(lock: Any, counter: Any, times: int) -> None:
    for _ in range(times):
        with lock:
            counter.value += 1


def acquire_and_die(lock: Any, ready: Any) -> None:
    lock.acquire()
    ready.release()
    os.kill(os.getpid(), signal.SIGKILL)


def set_raw(value: Any, array: Any, number: float) -> None:
    value.value = number
    for i in range(len(array)):
        array[i] = i * number


def sleep(seconds: float) -> None:
    time.sleep(seconds)
