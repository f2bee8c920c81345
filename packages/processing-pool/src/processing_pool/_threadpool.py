"""``ThreadPool``: the pool API on threads of this process (no pickling, shared memory)."""

from __future__ import annotations

import collections
import os
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from processing_core._errors import ProcessError
from processing_core._util import Finalize

from processing_pool._backend import OpenJobs
from processing_pool._base import BasePool
from processing_pool._chunking import Task, run_task


def _default_size(processes: int | None) -> int:
    if processes is None:
        return os.cpu_count() or 1
    if not isinstance(processes, int) or isinstance(processes, bool):
        raise TypeError(f"processes must be a positive int or None, not {type(processes).__name__}")
    if processes < 1:
        raise ValueError(f"Number of processes must be at least 1, not {processes}")
    return processes


class ThreadBackend:
    """Runs tasks on a fixed set of threads that share one queue."""

    def __init__(
        self,
        size: int,
        initializer: Callable[..., object] | None,
        initargs: Iterable[Any],
        open_jobs: OpenJobs,
    ) -> None:
        self._size = size
        self._initializer = initializer
        self._initargs = tuple(initargs)
        self._open_jobs = open_jobs
        self._tasks: collections.deque[Task] = collections.deque()
        self._cond = threading.Condition(threading.Lock())
        self._closing = False
        self._terminated = False
        self._threads = [
            threading.Thread(target=self._run, name=f"ThreadPoolWorker-{n + 1}", daemon=True) for n in range(size)
        ]
        for thread in self._threads:
            thread.start()

    @property
    def size(self) -> int:
        """The number of worker threads."""
        return self._size

    def submit(self, tasks: list[Task]) -> None:
        """Queue tasks for the threads."""
        with self._cond:
            if self._terminated:
                raise ValueError("Pool not running: it was terminated")
            self._tasks.extend(tasks)
            if len(tasks) == 1:
                self._cond.notify()
            else:
                self._cond.notify(len(tasks))

    def wake(self) -> None:
        """Let idle threads re-check whether they may exit."""
        with self._cond:
            self._cond.notify_all()

    def close(self) -> None:
        """Let the threads exit once the queue and the open lazy jobs are done."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def terminate(self) -> None:
        """Drop queued tasks (they fail); threads exit after their current task."""
        with self._cond:
            self._terminated = True
            self._closing = True
            dropped = list(self._tasks)
            self._tasks.clear()
            self._cond.notify_all()
        error = ProcessError("the pool was terminated before this task ran")
        for job, index, _func, _mode, _items in dropped:
            job._chunk_done(index, False, error)

    def join(self) -> None:
        """Wait for every thread to exit."""
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join()

    def _next_task(self) -> Task | None:
        with self._cond:
            while not self._tasks:
                if self._terminated or (self._closing and not self._open_jobs):
                    return None
                self._cond.wait()
            return self._tasks.popleft()

    def _run(self) -> None:
        if self._initializer is not None:
            self._initializer(*self._initargs)
        while True:
            task = self._next_task()
            if task is None:
                return
            job, index, func, mode, items = task
            started = time.perf_counter()
            try:
                value = run_task(func, mode, items)
            except Exception as exc:
                job._chunk_done(index, False, exc, time.perf_counter() - started)
            else:
                job._chunk_done(index, True, value, time.perf_counter() - started)
            del task, job, items


class ThreadPool(BasePool):
    """A pool of worker threads with the same API as :class:`~processing_pool.Pool`.

    Useful for I/O-bound work, or work that releases the GIL: nothing is pickled.

    Args:
        processes: the number of threads (default: the number of CPUs).
        initializer: if given, each thread calls ``initializer(*initargs)`` first.
        initargs: arguments for ``initializer``.
    """

    def __init__(
        self,
        processes: int | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
    ) -> None:
        size = _default_size(processes)
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        open_jobs = OpenJobs()
        backend = ThreadBackend(size, initializer, initargs, open_jobs)
        self._init_base(backend, open_jobs)
        # Collected: the idle threads exit rather than wait for work forever.
        Finalize(self, backend.terminate)
