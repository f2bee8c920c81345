"""The pool API shared by :class:`~processing_pool.Pool` and :class:`~processing_pool.ThreadPool`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any, NoReturn

from processing_pool._backend import Backend, OpenJobs
from processing_pool._chunking import (
    APPLY,
    CHUNKS_PER_WORKER_WINDOW,
    MAP,
    STAR,
    ChunkSizer,
    LazyFeeder,
    Task,
    check_chunksize,
    known_length,
    map_chunksize,
)
from processing_pool._progress import ProgressOption, make_progress
from processing_pool._results import ApplyResult, IMapIterator, IMapUnorderedIterator, MapResult

RUN, CLOSE, TERMINATE = 0, 1, 2
_STATE_NAMES = {RUN: "RUN", CLOSE: "CLOSE", TERMINATE: "TERMINATE"}
_EMPTY_KWDS: Mapping[str, Any] = {}


class BasePool:
    """Submit methods, results and life cycle on top of a :class:`~processing_pool._backend.Backend`."""

    _backend: Backend

    def _init_base(self, backend: Backend, open_jobs: OpenJobs) -> None:
        self._backend = backend
        self._open_jobs = open_jobs
        open_jobs.backend = backend
        self._status = PoolState()
        self._state_lock = threading.Lock()

    @property
    def _state(self) -> int:
        return self._status.value

    # -------------------------------------------------------------- one call

    def apply(self, func: Callable[..., Any], args: Iterable[Any] = (), kwds: Mapping[str, Any] = _EMPTY_KWDS) -> Any:
        """Call ``func(*args, **kwds)`` in a worker and return its result."""
        return self._interruptible_get(self.apply_async(func, args, kwds))

    def apply_async(
        self,
        func: Callable[..., Any],
        args: Iterable[Any] = (),
        kwds: Mapping[str, Any] = _EMPTY_KWDS,
        callback: Callable[[Any], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
    ) -> ApplyResult[Any]:
        """Call ``func(*args, **kwds)`` in a worker; return an :class:`ApplyResult` at once.

        ``callback`` gets the result and ``error_callback`` the exception, in the pool's
        result thread.
        """
        if self._state != RUN:
            self._not_running()
        if not callable(func):
            raise TypeError(f"func must be callable, not {type(func).__name__}")
        result: ApplyResult[Any] = ApplyResult(callback, error_callback)
        result._pool = self  # a pool used only through its results stays alive for them
        if type(args) is not tuple:
            args = tuple(args)
        self._backend.submit([(result, 0, func, APPLY, (args, kwds))])
        return result

    # ------------------------------------------------------------- many calls

    def map(
        self,
        func: Callable[[Any], Any],
        iterable: Iterable[Any],
        chunksize: int | None = None,
        *,
        progress: ProgressOption = None,
    ) -> list[Any]:
        """Return ``[func(x) for x in iterable]``, computed by the workers in chunks."""
        return self._interruptible_get(
            self._map_async(
                func, iterable, mode=MAP, chunksize=chunksize, callback=None, error_callback=None, progress=progress
            )
        )

    def map_async(
        self,
        func: Callable[[Any], Any],
        iterable: Iterable[Any],
        chunksize: int | None = None,
        callback: Callable[[list[Any]], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
        *,
        progress: ProgressOption = None,
    ) -> MapResult[Any]:
        """Like :meth:`map`, returning a :class:`MapResult` at once."""
        return self._map_async(
            func,
            iterable,
            mode=MAP,
            chunksize=chunksize,
            callback=callback,
            error_callback=error_callback,
            progress=progress,
        )

    def starmap(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
        *,
        progress: ProgressOption = None,
    ) -> list[Any]:
        """Return ``[func(*args) for args in iterable]``, computed by the workers in chunks."""
        return self._interruptible_get(
            self._map_async(
                func, iterable, mode=STAR, chunksize=chunksize, callback=None, error_callback=None, progress=progress
            )
        )

    def starmap_async(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Iterable[Any]],
        chunksize: int | None = None,
        callback: Callable[[list[Any]], object] | None = None,
        error_callback: Callable[[BaseException], object] | None = None,
        *,
        progress: ProgressOption = None,
    ) -> MapResult[Any]:
        """Like :meth:`starmap`, returning a :class:`MapResult` at once."""
        return self._map_async(
            func,
            iterable,
            mode=STAR,
            chunksize=chunksize,
            callback=callback,
            error_callback=error_callback,
            progress=progress,
        )

    def imap(
        self,
        func: Callable[[Any], Any],
        iterable: Iterable[Any],
        chunksize: int | None = None,
        *,
        progress: ProgressOption = None,
    ) -> IMapIterator[Any]:
        """Return an iterator over ``func(x)`` for each ``x``, in input order.

        The input is read lazily, a bounded window of chunks ahead of what has been
        consumed.  Without ``chunksize`` the pool picks chunk sizes from the measured
        time per item.
        """
        return self._imap(IMapIterator, func, iterable, chunksize, progress)

    def imap_unordered(
        self,
        func: Callable[[Any], Any],
        iterable: Iterable[Any],
        chunksize: int | None = None,
        *,
        progress: ProgressOption = None,
    ) -> IMapUnorderedIterator[Any]:
        """Like :meth:`imap`, yielding results in the order they finish."""
        return self._imap(IMapUnorderedIterator, func, iterable, chunksize, progress)

    # 0.52 names: the same callables.
    applyAsync = apply_async
    mapAsync = map_async
    imapUnordered = imap_unordered

    # -------------------------------------------------------------- life cycle

    def close(self) -> None:
        """Accept no more work; the workers exit once everything submitted is done."""
        with self._state_lock:
            if self._status.value != RUN:
                return
            self._status.value = CLOSE
        # Open imap jobs now read the rest of their input regardless of the window, so
        # that join() completes them; a thread does it, as close() itself must not block.
        feeders = [feeder for feeder in self._open_jobs.feeders() if not feeder.exhausted]
        if feeders:
            threading.Thread(target=_feed_to_the_end, args=(feeders,), name="PoolFeeder", daemon=True).start()
        self._backend.close()

    def terminate(self) -> None:
        """Stop the workers now; results not yet finished fail."""
        with self._state_lock:
            self._status.value = TERMINATE
        self._backend.terminate()

    def join(self) -> None:
        """Wait for the workers to exit; call :meth:`close` or :meth:`terminate` first.

        Raises:
            ValueError: the pool is still running.
        """
        if self._state == RUN:
            raise ValueError("Pool is still running: call close() or terminate() before join()")
        self._backend.join()

    def __enter__(self) -> BasePool:
        if self._state != RUN:
            self._not_running()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.terminate()

    def __reduce__(self) -> NoReturn:
        raise NotImplementedError("pool objects cannot be passed between processes or pickled")

    def __repr__(self) -> str:
        cls = type(self)
        return f"<{cls.__module__}.{cls.__qualname__} state={_STATE_NAMES[self._state]} pool_size={self._backend.size}>"

    # ---------------------------------------------------------------- helpers

    def _not_running(self) -> NoReturn:
        raise ValueError("Pool not running: it was closed or terminated")

    def _interruptible_get(self, result: ApplyResult[Any]) -> Any:
        try:
            return result.get()
        except KeyboardInterrupt:
            # Ctrl-C while waiting: stop every worker rather than leave them running.
            self.terminate()
            raise

    def _map_async(
        self,
        func: Callable[..., Any],
        iterable: Iterable[Any],
        *,
        mode: int,
        chunksize: int | None,
        callback: Callable[[list[Any]], object] | None,
        error_callback: Callable[[BaseException], object] | None,
        progress: ProgressOption,
    ) -> MapResult[Any]:
        if self._state != RUN:
            self._not_running()
        if not callable(func):
            raise TypeError(f"func must be callable, not {type(func).__name__}")
        check_chunksize(chunksize)
        items = iterable if isinstance(iterable, (list, tuple)) else list(iterable)
        if chunksize is None:
            chunksize = map_chunksize(len(items), self._backend.size)
        reporter = make_progress(progress, len(items), getattr(func, "__name__", "map"))
        result: MapResult[Any] = MapResult(len(items), chunksize, callback, error_callback, progress=reporter)
        result._pool = self
        # All chunks in one hand-over: slicing is cheap next to pickling, which the backend
        # does in its own thread.  Handing over a few at a time woke that thread while this
        # one still held the GIL, and each side then waited for the other (up to the
        # interpreter's switch interval) with the workers idle.
        tasks: list[Task] = [
            (result, index, func, mode, items[start : start + chunksize])
            for index, start in enumerate(range(0, len(items), chunksize))
        ]
        if tasks:
            self._backend.submit(tasks)
        return result

    def _imap(
        self,
        iterator_class: type[IMapIterator[Any]],
        func: Callable[[Any], Any],
        iterable: Iterable[Any],
        chunksize: int | None,
        progress: ProgressOption,
    ) -> Any:
        if self._state != RUN:
            self._not_running()
        if not callable(func):
            raise TypeError(f"func must be callable, not {type(func).__name__}")
        check_chunksize(chunksize)
        length = known_length(iterable)
        reporter = make_progress(progress, length, getattr(func, "__name__", "imap"))
        result = iterator_class(progress=reporter)
        result._pool = self  # `for x in Pool().imap(...)` must not collect the pool mid-loop
        workers = self._backend.size
        open_jobs = self._open_jobs

        def done(job: Any) -> None:
            if reporter is not None:
                reporter.close()
            open_jobs.done(job)

        state = self._status
        feeder = LazyFeeder(
            result,
            func,
            MAP,
            iterable,
            sizer=ChunkSizer(chunksize, length, workers),
            window=max(2, CHUNKS_PER_WORKER_WINDOW * workers),
            submit=self._backend.submit,
            closing=lambda: state.value != RUN,
            on_done=done,
        )
        result._feeder = feeder
        open_jobs.add(result, feeder)
        feeder.fill()
        return result


class PoolState:
    """The pool's state, held apart from the pool so that its jobs do not keep it alive."""

    __slots__ = ("value",)

    def __init__(self) -> None:
        self.value = RUN


def _feed_to_the_end(feeders: list[LazyFeeder]) -> None:
    for feeder in feeders:
        feeder.fill()
