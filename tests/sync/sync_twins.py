"""One behavioural suite, two kinds of backend.

The tests of the primitives run their bodies against ``processing_sync`` with workers
in processes (fork, spawn, forkserver) and against ``threading`` with workers in
threads: the "threading twins".  Where both backends pass, our semantics are the
same as ``threading``'s.  The few places where ``multiprocessing`` deliberately
differs from ``threading`` (the exception a wrong ``release()`` raises) are attributes
of the backend, so the difference is explicit.

Worker functions live here (not in the test modules) so that spawned children can
import them.
"""

from __future__ import annotations

import ctypes
import sys
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

# "threads": threading's primitives in threads (the twins); "ours-threads": ours in threads
# of one process; "dummy": processing.dummy (its Process threads and its primitives);
# the start methods: ours across processes.
BACKENDS = ("threads", "ours-threads", "dummy", "fork", "spawn", "forkserver")
PROCESS_BACKENDS = ("fork", "spawn", "forkserver")
JOIN_SECONDS = 60.0


class ThreadValue:
    """The threading twin of a synchronized ``Value``."""

    def __init__(self, typecode: str, value: Any = 0) -> None:
        self.value = value
        self._lock = threading.RLock()

    def get_lock(self) -> Any:
        return self._lock


class ThreadWorker:
    """A thread with the bits of the ``Process`` API the tests use."""

    def __init__(self, target: Callable[..., Any], args: tuple[Any, ...], thread_class: Any = threading.Thread) -> None:
        self.exitcode: int | None = None
        self._thread = thread_class(target=self._run, args=(target, args), daemon=True)

    def _run(self, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
        try:
            code = target(*args)
        except SystemExit as exc:
            code = exc.code
        except BaseException:
            traceback.print_exc()
            code = 1
        self.exitcode = 0 if code is None else int(code)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    def is_alive(self) -> bool:
        return self._thread.is_alive()


def run_target(target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """Main of a worker process: the target's return value is the exit code."""
    sys.exit(target(*args) or 0)


class Backend:
    """The primitives and the way to start a worker, for one backend."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.uses_processes = name in PROCESS_BACKENDS
        self.workers: list[Any] = []
        self.thread_class: Any = threading.Thread
        if name == "dummy":
            # processing.dummy: the API of processes on threads; workers are its Process.
            import processing.dummy

            self.thread_class = processing.dummy.Process
            self.Lock = processing.dummy.Lock
            self.RLock = processing.dummy.RLock
            self.Semaphore = processing.dummy.Semaphore
            self.BoundedSemaphore = processing.dummy.BoundedSemaphore
            self.Condition = processing.dummy.Condition
            self.Event = processing.dummy.Event
            self.Barrier = processing.dummy.Barrier
            self.Value = ThreadValue  # dummy's Value has no lock (as in multiprocessing.dummy)
            self.release_unlocked_error = RuntimeError
            self.rlock_not_owner_error = RuntimeError
        elif name == "threads":
            self.Lock = threading.Lock
            self.RLock = threading.RLock
            self.Semaphore = threading.Semaphore
            self.BoundedSemaphore = threading.BoundedSemaphore
            self.Condition = threading.Condition
            self.Event = threading.Event
            self.Barrier = threading.Barrier
            self.Value: Any = ThreadValue
            # threading raises RuntimeError for both; multiprocessing does not.
            self.release_unlocked_error: type[BaseException] = RuntimeError
            self.rlock_not_owner_error: type[BaseException] = RuntimeError
        else:
            import processing_sync
            from processing_core._context import get_context

            self.ctx = get_context(name) if self.uses_processes else None
            self.Lock = processing_sync.Lock
            self.RLock = processing_sync.RLock
            self.Semaphore = processing_sync.Semaphore
            self.BoundedSemaphore = processing_sync.BoundedSemaphore
            self.Condition = processing_sync.Condition
            self.Event = processing_sync.Event
            self.Barrier = processing_sync.Barrier
            self.Value = processing_sync.Value
            # As in multiprocessing: ValueError ("released too many times"), AssertionError.
            self.release_unlocked_error = ValueError
            self.rlock_not_owner_error = AssertionError

    def start(self, target: Callable[..., Any], *args: Any) -> Any:
        """Start ``target(*args)`` in a worker; its return value becomes the exit code."""
        if self.uses_processes:
            worker: Any = self.ctx.Process(target=run_target, args=(target, args))
        else:
            worker = ThreadWorker(target, args, self.thread_class)
        worker.start()
        self.workers.append(worker)
        return worker

    def join(self, *workers: Any) -> list[int | None]:
        """Join the workers (all started ones if none given); return their exit codes."""
        for worker in workers or self.workers:
            worker.join(JOIN_SECONDS)
        return [worker.exitcode for worker in workers or self.workers]

    def cleanup(self) -> None:
        for worker in self.workers:
            if worker.is_alive() and self.uses_processes:
                worker.kill()
            worker.join(JOIN_SECONDS)


# ------------------------------------------------------------------ worker bodies


def hold_until(lock: Any, held: Any, go: Any) -> int:
    """Take ``lock``, say so on ``held``, wait for ``go``, release."""
    lock.acquire()
    held.release()
    go.acquire()
    lock.release()
    return 0


def hold_and_die(lock: Any, held: Any) -> int:
    """Take ``lock``, say so, and die without releasing it."""
    import os
    import signal

    lock.acquire()
    held.release()
    os.kill(os.getpid(), signal.SIGKILL)
    time.sleep(60)
    return 1


def release_once(lock: Any) -> int:
    lock.release()
    return 0


def release_not_owned(lock: Any, expected: type[BaseException]) -> int:
    """Release a lock this worker never took; 0 if the expected error came."""
    try:
        lock.release()
    except expected:
        return 0
    return 3


def try_acquire(lock: Any) -> int:
    """0 if ``lock`` could be taken without blocking (released again), 4 if not."""
    if lock.acquire(False):
        lock.release()
        return 0
    return 4


def wait_on_condition(cond: Any, ready: Any, woke: Any, timeout: float | None) -> int:
    """Wait on ``cond``; 0 if notified (and ``woke`` released), 5 if it timed out."""
    with cond:
        ready.release()
        notified = cond.wait() if timeout is None else cond.wait(timeout)
    if notified:
        woke.release()
        return 0
    return 5


def wait_for_value(cond: Any, value: Any, wanted: int, ready: Any) -> int:
    """``wait_for`` a shared value to reach ``wanted``; 0 if it did."""
    with cond:
        ready.release()
        ok = cond.wait_for(lambda: value.value >= wanted, 30)
    return 0 if ok else 6


def wait_on_event(event: Any, ready: Any, timeout: float | None) -> int:
    """0 if ``event.wait`` returned True, 5 if False."""
    ready.release()
    return 0 if event.wait(timeout) else 5


def set_event(event: Any) -> int:
    event.set()
    return 0


def pass_barrier(barrier: Any, timeout: float | None) -> int:
    """Exit code 10 + the index ``wait`` returned, or 2 for BrokenBarrierError."""
    try:
        return 10 + barrier.wait(timeout)
    except threading.BrokenBarrierError:
        return 2


def increment(value: Any, times: int) -> int:
    for _ in range(times):
        with value.get_lock():
            value.value += 1
    return 0


def bounded_section(sem: Any, inside: Any, limit: int, rounds: int) -> int:
    """Enter a section guarded by ``sem`` ``rounds`` times; 7 if more than ``limit`` were in."""
    over = False
    for _ in range(rounds):
        with sem:
            with inside.get_lock():
                inside.value += 1
                over = over or inside.value > limit
            time.sleep(0.001)
            with inside.get_lock():
                inside.value -= 1
    return 7 if over else 0


# ------------------------------------------------------------ shared ctypes workers


class Point(ctypes.Structure):
    _fields_ = [("x", ctypes.c_double), ("y", ctypes.c_double)]


def double_array(array: Any) -> int:
    with array.get_lock():
        array[:] = [item * 2 for item in array[:]]
    return 0


def write_string(string: Any, data: bytes) -> int:
    string.value = data
    return 0


def move_point(point: Any, dx: float) -> int:
    with point:
        point.x += dx
        point.y -= dx
    return 0


def check_value(value: Any, expected: Any) -> int:
    return 0 if value.value == expected else 8


def wait_on_condition_forever(cond: Any, ready: Any) -> int:
    with cond:
        ready.release()
        cond.wait()
    return 0


def increment_under_plain_lock(value: Any, times: int) -> int:
    """With a non-recursive lock, update the raw object while holding it (as in multiprocessing)."""
    obj = value.get_obj()
    for _ in range(times):
        with value:
            obj.value += 1
    return 0


def barrier_rounds(barrier: Any, rounds: int, tally: Any) -> int:
    """Pass the barrier ``rounds`` times, counting each pass in ``tally``."""
    for _ in range(rounds):
        barrier.wait(30)
        with tally.get_lock():
            tally.value += 1
    return 0


def consume(cond: Any, stock: Any, taken: Any, wanted: int) -> int:
    """Take ``wanted`` items from ``stock`` one by one, waiting on ``cond`` when it is empty."""
    for _ in range(wanted):
        with cond:
            if not cond.wait_for(lambda: stock.value > 0, 30):
                return 9
            stock.value -= 1
            taken.value += 1
    return 0
