"""One small adapter per pool library, so every pool workload calls each library its own way.

Libraries with the multiprocessing Pool API (``processing``, the standard library, billiard)
share one adapter; concurrent.futures and loky are executors (``submit``/``map``, no
``imap_unordered``); mpire keeps its workers alive between calls (``keep_alive=True``) so
that, like the others, a warmed pool is measured rather than worker start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.common import FORK, anchor, billiard_api, processing_api, stdlib


class PoolApi:
    """The multiprocessing Pool interface: ``context.Pool(n)``."""

    has_imap_unordered = True

    def __init__(self, context: Any) -> None:
        self.context = context

    def open(self, workers: int) -> Any:
        return self.context.Pool(workers)

    def close(self, pool: Any) -> None:
        pool.close()
        pool.join()

    def discard(self, pool: Any) -> None:
        """Stop a pool whose shutdown is not being timed (billiard's close() alone takes ~0.8 s)."""
        pool.terminate()
        pool.join()

    def apply_async(self, pool: Any, func: Callable[[int], Any], items: Sequence[int]) -> None:
        for result in [pool.apply_async(func, (item,)) for item in items]:
            result.get()

    def map(self, pool: Any, func: Callable[[int], Any], items: Sequence[int], chunksize: int | None) -> None:
        if chunksize is None:
            pool.map(func, items)
        else:
            pool.map(func, items, chunksize)

    def imap_unordered(
        self, pool: Any, func: Callable[[int], Any], items: Sequence[int], chunksize: int | None
    ) -> None:
        iterator = (
            pool.imap_unordered(func, items) if chunksize is None else pool.imap_unordered(func, items, chunksize)
        )
        for _ in iterator:
            pass


class ExecutorApi(PoolApi):
    """concurrent.futures-style executors: ``submit`` and ordered ``map`` (default chunksize 1)."""

    has_imap_unordered = False

    def __init__(self, executor_class: Any, **options: Any) -> None:
        self.executor_class = executor_class
        self.options = options

    def open(self, workers: int) -> Any:
        return self.executor_class(max_workers=workers, **self.options)

    def close(self, pool: Any) -> None:
        pool.shutdown(wait=True)

    def discard(self, pool: Any) -> None:
        try:
            pool.shutdown(wait=True, cancel_futures=True)
        except TypeError:  # loky's shutdown has no cancel_futures
            pool.shutdown(wait=True)

    def apply_async(self, pool: Any, func: Callable[[int], Any], items: Sequence[int]) -> None:
        for future in [pool.submit(func, item) for item in items]:
            future.result()

    def map(self, pool: Any, func: Callable[[int], Any], items: Sequence[int], chunksize: int | None) -> None:
        for _ in pool.map(func, items) if chunksize is None else pool.map(func, items, chunksize=chunksize):
            pass

    def imap_unordered(
        self, pool: Any, func: Callable[[int], Any], items: Sequence[int], chunksize: int | None
    ) -> None:
        raise NotImplementedError("executors have no imap_unordered")


class MpireApi(PoolApi):
    """mpire's WorkerPool, fork start, workers kept alive between calls."""

    def __init__(self, module: Any) -> None:
        self.module = module

    def open(self, workers: int) -> Any:
        return self.module.WorkerPool(n_jobs=workers, start_method=FORK, keep_alive=True)

    def close(self, pool: Any) -> None:
        pool.stop_and_join()

    def discard(self, pool: Any) -> None:
        pool.terminate()

    def apply_async(self, pool: Any, func: Callable[[int], Any], items: Sequence[int]) -> None:
        for result in [pool.apply_async(func, (item,)) for item in items]:
            result.get()

    def map(self, pool: Any, func: Callable[[int], Any], items: Sequence[int], chunksize: int | None) -> None:
        pool.map(func, items, chunk_size=chunksize)

    def imap_unordered(
        self, pool: Any, func: Callable[[int], Any], items: Sequence[int], chunksize: int | None
    ) -> None:
        for _ in pool.imap_unordered(func, items, chunk_size=chunksize):
            pass


def _concurrent_futures() -> ExecutorApi:
    module = anchor("concurrent.futures")
    return ExecutorApi(module.ProcessPoolExecutor, mp_context=stdlib(FORK))


def _loky() -> ExecutorApi:
    return ExecutorApi(anchor("loky").ProcessPoolExecutor)


# Row name -> look-up (raises Missing when the implementation is absent).
POOLS: dict[str, Callable[[], PoolApi]] = {
    "processing": lambda: PoolApi(processing_api("Pool")),
    "multiprocessing": lambda: PoolApi(stdlib(FORK)),
    "concurrent.futures": _concurrent_futures,
    "loky": _loky,
    "mpire": lambda: MpireApi(anchor("mpire")),
    "billiard": lambda: PoolApi(billiard_api(FORK)),
}
NOTES = {
    "concurrent.futures": "ProcessPoolExecutor, fork",
    "loky": "ProcessPoolExecutor, loky start method",
    "mpire": "WorkerPool(keep_alive=True), fork",
}
