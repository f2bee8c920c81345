"""What the submit methods of a pool return: results to wait for, and ordered/unordered iterators.

A backend reports every finished chunk of a job with ``_chunk_done(index, ok, value)``
from its own thread.  ``value`` is the return value (``apply``), the list of values of
the chunk (``map``, ``imap``), or the exception when ``ok`` is false.
"""

from __future__ import annotations

import collections
import sys
import threading
import traceback
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from processing_core._errors import TimeoutError

if TYPE_CHECKING:
    from processing_pool._chunking import LazyFeeder
    from processing_pool._progress import Progress

T = TypeVar("T")

_event_lock = threading.Lock()


def _report_callback_error(kind: str) -> None:
    print(f"Exception in a pool {kind} (ignored):", file=sys.stderr)
    traceback.print_exc()


class ApplyResult(Generic[T]):
    """The eventual result of one call (``apply_async``) or of a whole ``map_async``.

    It can be awaited from asyncio: ``value = await pool.apply_async(f, (x,))``.
    """

    def __init__(
        self,
        callback: Callable[[T], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
        on_done: Callable[[ApplyResult[Any]], object] | None = None,
    ) -> None:
        if callback is not None and not callable(callback):
            raise TypeError(f"callback must be callable, not {type(callback).__name__}")
        if error_callback is not None and not callable(error_callback):
            raise TypeError(f"error_callback must be callable, not {type(error_callback).__name__}")
        self._callback = callback
        self._error_callback = error_callback
        self._on_done = on_done
        self._ready = False
        self._success = False
        self._value: Any = None
        # An Event is made only when someone waits: most results are collected after the fact.
        self._event: threading.Event | None = None
        self._done_callbacks: list[Callable[[], object]] | None = None
        self._pool: object = None

    # ---------------------------------------------------------------- public API

    def ready(self) -> bool:
        """Return whether the call has completed."""
        return self._ready

    def successful(self) -> bool:
        """Return whether the call completed without raising.

        Raises:
            ValueError: the result is not ready yet.
        """
        if not self._ready:
            raise ValueError(f"{self!r} not ready")
        return self._success

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the result is available or ``timeout`` seconds pass."""
        if self._ready:
            return
        event = self._event
        if event is None:
            with _event_lock:
                if self._event is None:
                    self._event = threading.Event()
                event = self._event
            if self._ready:
                return
        event.wait(timeout)

    def get(self, timeout: float | None = None) -> T:
        """Return the result when it arrives; re-raise the exception of a failed call.

        Raises:
            processing_core.TimeoutError: the result did not arrive within ``timeout`` seconds.
        """
        self.wait(timeout)
        if not self._ready:
            raise TimeoutError(f"the result did not arrive within {timeout} seconds")
        if self._success:
            return self._value
        raise self._value

    def __await__(self) -> Generator[Any, None, T]:
        import asyncio

        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()

        def transfer() -> None:
            if future.cancelled():
                return
            if self._success:
                future.set_result(self._value)
            else:
                future.set_exception(self._value)

        self._add_done_callback(lambda: loop.call_soon_threadsafe(transfer))
        return future.__await__()

    # ------------------------------------------------------------ backend side

    def _add_done_callback(self, func: Callable[[], object]) -> None:
        with _event_lock:
            if not self._ready:
                if self._done_callbacks is None:
                    self._done_callbacks = []
                self._done_callbacks.append(func)
                return
        func()

    def _chunk_done(self, index: int, ok: bool, value: Any, seconds: float = 0.0) -> None:
        self._set(ok, value)

    def _set(self, ok: bool, value: Any) -> None:
        if self._ready:
            return
        self._success = ok
        self._value = value
        if ok and self._callback is not None:
            try:
                self._callback(value)
            except Exception:
                _report_callback_error("callback")
        elif not ok and self._error_callback is not None:
            try:
                self._error_callback(value)
            except Exception:
                _report_callback_error("error_callback")
        with _event_lock:
            self._ready = True
            done_callbacks, self._done_callbacks = self._done_callbacks, None
        event = self._event
        if event is not None:
            event.set()
        if done_callbacks:
            for func in done_callbacks:
                func()
        if self._on_done is not None:
            self._on_done(self)


AsyncResult = ApplyResult


class MapResult(ApplyResult[list[T]]):
    """The eventual list of results of ``map_async``/``starmap_async``, filled chunk by chunk."""

    def __init__(
        self,
        length: int,
        chunksize: int,
        callback: Callable[[list[T]], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
        *,
        on_done: Callable[[ApplyResult[Any]], object] | None = None,
        progress: Progress | None = None,
    ) -> None:
        super().__init__(callback, error_callback, on_done)
        self._values: list[Any] = [None] * length
        self._chunksize = max(1, chunksize)
        self._chunks_left = -(-length // self._chunksize)
        self._lock = threading.Lock()
        self._progress = progress
        if self._chunks_left == 0:
            self._finish(True, [])

    def _finish(self, ok: bool, value: Any) -> None:
        if self._progress is not None:
            self._progress.close()
        self._set(ok, value)

    def _chunk_done(self, index: int, ok: bool, value: Any, seconds: float = 0.0) -> None:
        if self._ready:
            return
        if not ok:
            self._finish(False, value)
            return
        start = index * self._chunksize
        with self._lock:
            self._values[start : start + len(value)] = value
            self._chunks_left -= 1
            finished = self._chunks_left == 0
        if self._progress is not None:
            self._progress.update(len(value))
        if finished:
            values, self._values = self._values, []
            self._finish(True, values)


class IMapIterator(Iterator[T]):
    """Results of ``imap`` in input order; ``next(timeout)`` waits at most ``timeout`` seconds.

    The input is read lazily: only a bounded window of chunks is submitted ahead of
    what has been consumed, so an endless generator keeps memory flat.
    """

    _ordered = True

    def __init__(self, progress: Progress | None = None) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._chunks: dict[int, tuple[bool, Any]] = {}
        self._arrived: collections.deque[tuple[bool, Any]] = collections.deque()
        self._buffer: collections.deque[Any] = collections.deque()
        self._next_chunk = 0
        self._chunks_total: int | None = None  # known once the input is exhausted
        self._chunks_taken = 0
        self._progress = progress
        self._feeder: LazyFeeder | None = None
        self._on_done: Callable[[Any], object] | None = None
        self._pool: object = None

    def __iter__(self) -> IMapIterator[T]:
        return self

    def next(self, timeout: float | None = None) -> T:
        """Return the next result, waiting at most ``timeout`` seconds for it.

        Raises:
            StopIteration: every result has been returned.
            processing_core.TimeoutError: no result arrived within ``timeout`` seconds.
        """
        while True:
            with self._cond:
                chunk = self._take_chunk(timeout)
            if chunk is None:  # a value was waiting in the buffer
                return self._buffer.popleft()
            if self._feeder is not None:
                self._feeder.chunk_consumed()
            ok, value = chunk
            if not ok:
                raise value
            self._buffer.extend(value)
            if self._buffer:
                return self._buffer.popleft()

    __next__ = next

    def _take_chunk(self, timeout: float | None) -> tuple[bool, Any] | None:
        """With the lock held: return None if the buffer has a value, else the next chunk."""
        deadline = None
        while True:
            if self._buffer:
                return None
            chunk = self._pop_ready_chunk()
            if chunk is not None:
                self._chunks_taken += 1
                return chunk
            if self._chunks_total is not None and self._chunks_taken >= self._chunks_total:
                raise StopIteration
            if timeout is not None:
                import time

                now = time.monotonic()
                if deadline is None:
                    deadline = now + timeout
                remaining = deadline - now
                if remaining <= 0:
                    raise TimeoutError(f"no result arrived within {timeout} seconds")
                self._cond.wait(remaining)
            else:
                self._cond.wait()

    def _pop_ready_chunk(self) -> tuple[bool, Any] | None:
        chunk = self._chunks.pop(self._next_chunk, None)
        if chunk is not None:
            self._next_chunk += 1
        return chunk

    # ------------------------------------------------------------ backend side

    def _chunk_done(self, index: int, ok: bool, value: Any, seconds: float = 0.0) -> None:
        with self._cond:
            self._store(index, (ok, value))
            self._cond.notify()
        if self._progress is not None and ok:
            self._progress.update(len(value))
        if self._feeder is not None:
            self._feeder.chunk_finished(index, seconds)

    def _store(self, index: int, chunk: tuple[bool, Any]) -> None:
        self._chunks[index] = chunk

    def _set_length(self, chunks_total: int) -> None:
        """The input is exhausted: ``chunks_total`` chunks make up the whole result."""
        with self._cond:
            self._chunks_total = chunks_total
            self._cond.notify_all()
        if self._progress is not None:
            self._progress.set_total_known()


class IMapUnorderedIterator(IMapIterator[T]):
    """Results of ``imap_unordered``, in the order they complete."""

    _ordered = False

    def _store(self, index: int, chunk: tuple[bool, Any]) -> None:
        self._arrived.append(chunk)

    def _pop_ready_chunk(self) -> tuple[bool, Any] | None:
        return self._arrived.popleft() if self._arrived else None
