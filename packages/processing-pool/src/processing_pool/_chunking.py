"""Splitting input into chunks: sizes chosen automatically, and lazy bounded-window feeding.

A *task* is the unit a backend runs: ``(job, index, func, mode, items)``.  ``mode``
says how ``func`` is applied to ``items``: :data:`APPLY` (``items`` is ``(args, kwds)``,
one call), :data:`MAP` (one call per item) or :data:`STAR` (one call per item, unpacked).
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

APPLY, MAP, STAR = 0, 1, 2

Task = tuple[Any, int, Callable[..., Any], int, Any]

# Adaptive chunks aim at this much work each: long enough that the per-chunk cost of
# a round trip (tens of microseconds) is noise, short enough to balance the workers.
TARGET_CHUNK_SECONDS = 0.02
MAX_AUTO_CHUNKSIZE = 8192
CHUNKS_PER_WORKER_WINDOW = 4
LONG_INPUT = 10_000


def run_task(func: Callable[..., Any], mode: int, items: Any) -> Any:
    """Run one task's function over its items the way ``mode`` says; return its value."""
    if mode == MAP:
        return list(map(func, items))
    if mode == STAR:
        return list(itertools.starmap(func, items))
    args, kwds = items
    return func(*args, **kwds)


def check_chunksize(chunksize: int | None) -> None:
    """Raise a clear error for a chunk size that is not a positive integer (``None`` is fine)."""
    if chunksize is None:
        return
    if not isinstance(chunksize, int) or isinstance(chunksize, bool):
        raise TypeError(f"chunksize must be a positive int or None, not {type(chunksize).__name__}")
    if chunksize < 1:
        raise ValueError(f"chunksize must be at least 1, not {chunksize}")


def map_chunksize(length: int, workers: int) -> int:
    """The automatic chunk size of ``map`` over ``length`` items.

    About four chunks per worker, as the standard library does; eight for long inputs,
    so that pickling in the parent overlaps more with the work of the workers.
    """
    if length == 0:
        return 1
    per_worker = 8 if length >= LONG_INPUT else 4
    return max(1, -(-length // (workers * per_worker)))


def known_length(iterable: Iterable[Any]) -> int | None:
    """Return ``len(iterable)`` when it has one, without consuming anything."""
    try:
        return len(iterable)  # type: ignore[arg-type]
    except TypeError:
        return None


class ChunkSizer:
    """Chooses the size of each next chunk of a lazily read input.

    A fixed size when the caller gave one.  Otherwise single items first, then sizes
    that follow the measured time per item (aiming at :data:`TARGET_CHUNK_SECONDS` of
    work a chunk), growing at most fourfold per chunk and never above a quarter of each
    worker's share when the input's length is known.
    """

    def __init__(self, chunksize: int | None, length: int | None, workers: int) -> None:
        self.fixed = chunksize
        self.cap = MAX_AUTO_CHUNKSIZE
        if length is not None:
            self.cap = max(1, min(self.cap, map_chunksize(length, workers)))
        self.current = 1
        self.seconds_per_item: float | None = None

    def observe(self, items: int, seconds: float) -> None:
        """Record that a chunk of ``items`` items took ``seconds`` of work."""
        if items <= 0 or self.fixed is not None:
            return
        per_item = max(seconds, 1e-7) / items
        previous = self.seconds_per_item
        self.seconds_per_item = per_item if previous is None else 0.7 * previous + 0.3 * per_item

    def next_size(self) -> int:
        """Return the size of the next chunk."""
        if self.fixed is not None:
            return self.fixed
        if self.seconds_per_item is not None:
            wanted = int(TARGET_CHUNK_SECONDS / self.seconds_per_item)
            self.current = max(1, min(wanted, self.current * 4, self.cap))
        return self.current


class LazyFeeder:
    """Reads an ``imap`` input chunk by chunk, keeping a bounded window of chunks ahead.

    At most ``window`` chunks are submitted but not yet consumed; consuming one (the
    iterator's side) or finishing one (the backend's side) tops the window up again.
    Once the pool is closing, the window no longer applies, so that ``close()`` then
    ``join()`` completes every job as it does for the standard library.
    """

    def __init__(
        self,
        result: Any,
        func: Callable[..., Any],
        mode: int,
        iterable: Iterable[Any],
        *,
        sizer: ChunkSizer,
        window: int,
        submit: Callable[[list[Task]], None],
        closing: Callable[[], bool],
        on_done: Callable[[Any], object],
    ) -> None:
        self._result = result
        self._func = func
        self._mode = mode
        self._source: Iterator[Any] = iter(iterable)
        self._sizer = sizer
        self._window = window
        self._submit = submit
        self._closing = closing
        self._on_done = on_done
        self._lock = threading.Lock()
        self._feeding = threading.Lock()
        self._wanted = False
        self._submitted = 0
        self._finished = 0
        self._consumed = 0
        self._exhausted = False
        self._done_reported = False
        self._sizes: dict[int, int] = {}

    @property
    def exhausted(self) -> bool:
        """Whether the whole input has been read."""
        return self._exhausted

    def fill(self) -> None:
        """Submit chunks until the window is full or the input runs out (from any thread)."""
        self._wanted = True
        while self._wanted:
            if not self._feeding.acquire(blocking=False):
                return  # the thread feeding now sees _wanted and goes round again
            try:
                self._wanted = False
                self._fill_locked()
            finally:
                self._feeding.release()
        self._check_done()

    def _fill_locked(self) -> None:
        tasks: list[Task] = []
        while not self._exhausted:
            with self._lock:
                room = self._submitted - self._consumed < self._window
            if not room and not self._closing():
                break
            size = self._sizer.next_size()
            index = self._submitted
            try:
                items = list(itertools.islice(self._source, size))
            except Exception as exc:  # the input itself raised: fail at this position
                self._flush(tasks)
                tasks = []
                with self._lock:
                    self._submitted += 1
                self._exhausted = True
                self._result._chunk_done(index, False, exc)
                self._result._set_length(self._submitted)
                break
            if not items:
                self._exhausted = True
                self._result._set_length(self._submitted)
                break
            with self._lock:
                self._submitted += 1
                self._sizes[index] = len(items)
            tasks.append((self._result, index, self._func, self._mode, items))
            if len(tasks) >= 4 or len(items) < size:
                self._flush(tasks)
                tasks = []
        self._flush(tasks)

    def _flush(self, tasks: list[Task]) -> None:
        if not tasks:
            return
        try:
            self._submit(tasks)
        except Exception as exc:  # the pool stopped under us: fail what was read, read no more
            self._exhausted = True
            for task in tasks:
                self._result._chunk_done(task[1], False, exc)
            self._result._set_length(self._submitted)

    def chunk_finished(self, index: int, seconds: float) -> None:
        """The backend finished chunk ``index`` after ``seconds`` of work."""
        with self._lock:
            self._finished += 1
            items = self._sizes.pop(index, 0)
        self._sizer.observe(items, seconds)
        self.fill()

    def chunk_consumed(self) -> None:
        """The iterator handed out the values of one chunk."""
        with self._lock:
            self._consumed += 1
        self.fill()

    def _check_done(self) -> None:
        with self._lock:
            done = self._exhausted and self._finished >= self._submitted and not self._done_reported
            if done:
                self._done_reported = True
        if done:
            self._on_done(self._result)


def time_call(func: Callable[..., Any], mode: int, items: Any) -> tuple[Any, float]:
    """Run a task and return its value with the seconds it took."""
    started = time.perf_counter()
    value = run_task(func, mode, items)
    return value, time.perf_counter() - started
