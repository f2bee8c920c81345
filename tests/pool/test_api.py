"""The Pool API across start methods (one pool per start method for the whole module)."""

from __future__ import annotations

import asyncio
import os
import pickle
import sys
import threading
import traceback
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # spawned workers import the targets by name
import pool_targets as t
import processing_core
from processing_pool import (
    ApplyResult,
    AsyncResult,
    IMapIterator,
    IMapUnorderedIterator,
    MapResult,
    Pool,
    ThreadPool,
)

# The same API on processes (each start method) and on threads.
FLAVOURS = ("fork", "spawn", "forkserver", "threads")


@pytest.fixture(scope="module", params=FLAVOURS)
def pool(request: pytest.FixtureRequest):
    """A two-worker pool per flavour, closed and joined at module teardown."""
    if request.param == "threads":
        p = ThreadPool(2)
    else:
        p = Pool(2, context=processing_core.get_context(request.param))
    yield p
    p.close()
    p.join()
    if isinstance(p, ThreadPool):
        assert not any(thread.is_alive() for thread in p._backend._threads)
    else:
        alive = [w for w in p._backend._slots if w.process.is_alive()]
        assert not alive, f"workers still alive after join: {alive}"


def test_apply(pool: Pool) -> None:
    assert pool.apply(t.square, (7,)) == 49
    assert pool.apply(t.kwargs_echo, (1, 2), {"k": 3}) == ((1, 2), {"k": 3})


def test_apply_async_result_api(pool: Pool) -> None:
    result = pool.apply_async(t.sleep_then, (0.2, "done"))
    assert isinstance(result, ApplyResult)
    assert AsyncResult is ApplyResult
    with pytest.raises(ValueError, match="not ready"):
        result.successful()
    with pytest.raises(processing_core.TimeoutError):
        result.get(timeout=0.01)
    result.wait()
    assert result.ready()
    assert result.successful()
    assert result.get(timeout=0) == "done"


def test_apply_async_callbacks(pool: Pool) -> None:
    got: list[object] = []
    errors: list[BaseException] = []
    ok = pool.apply_async(t.square, (3,), callback=got.append, error_callback=errors.append)
    bad = pool.apply_async(t.raise_value_error, ("cb",), callback=got.append, error_callback=errors.append)
    assert ok.get(10) == 9
    with pytest.raises(ValueError, match="cb"):
        bad.get(10)
    assert got == [9]
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    assert bad.successful() is False


def test_remote_exception_keeps_traceback(pool: Pool) -> None:
    with pytest.raises(ValueError, match="boom") as info:
        pool.apply(t.raise_value_error)
    # Processes: the worker's traceback is the __cause__; threads: the exception's own.
    text = "".join(traceback.format_exception(info.value))
    assert "raise_value_error" in text


@pytest.mark.parametrize("chunksize", [None, 1, 3, 1000])
def test_map(pool: Pool, chunksize: int | None) -> None:
    assert pool.map(t.square, range(50), chunksize) == [x * x for x in range(50)]


def test_map_empty_and_generator(pool: Pool) -> None:
    assert pool.map(t.square, []) == []
    assert pool.map(t.square, (x for x in range(5))) == [0, 1, 4, 9, 16]


def test_map_async(pool: Pool) -> None:
    got: list[object] = []
    result = pool.map_async(t.square, range(10), callback=got.append)
    assert isinstance(result, MapResult)
    assert result.get(10) == [x * x for x in range(10)]
    assert got == [[x * x for x in range(10)]]


def test_map_error_fails_the_map(pool: Pool) -> None:
    with pytest.raises(ValueError, match="bad item 3"):
        pool.map(t.fail_on, range(10), 2)
    errors: list[BaseException] = []
    result = pool.map_async(t.fail_on, range(10), error_callback=errors.append)
    with pytest.raises(ValueError):
        result.get(10)
    assert isinstance(errors[0], ValueError)


def test_starmap(pool: Pool) -> None:
    pairs = [(a, a + 1) for a in range(20)]
    assert pool.starmap(t.add, pairs) == [a + b for a, b in pairs]
    assert pool.starmap_async(t.add, pairs, 3).get(10) == [a + b for a, b in pairs]


@pytest.mark.parametrize("chunksize", [None, 1, 7])
def test_imap_ordered(pool: Pool, chunksize: int | None) -> None:
    iterator = pool.imap(t.square, range(100), chunksize)
    assert isinstance(iterator, IMapIterator)
    assert list(iterator) == [x * x for x in range(100)]


@pytest.mark.parametrize("chunksize", [None, 1, 7])
def test_imap_unordered(pool: Pool, chunksize: int | None) -> None:
    iterator = pool.imap_unordered(t.square, iter(range(100)), chunksize)
    assert isinstance(iterator, IMapUnorderedIterator)
    assert sorted(iterator) == [x * x for x in range(100)]


def test_imap_next_timeout(pool: Pool) -> None:
    iterator = pool.imap(t.sleep_then, [0.3])
    with pytest.raises(processing_core.TimeoutError):
        iterator.next(timeout=0.01)
    assert iterator.next(timeout=10) is None
    with pytest.raises(StopIteration):
        iterator.next(timeout=1)


def test_imap_error_at_its_position(pool: Pool) -> None:
    iterator = pool.imap(t.fail_on, range(6), 1)
    assert [next(iterator) for _ in range(3)] == [0, 1, 2]
    with pytest.raises(ValueError, match="bad item 3"):
        next(iterator)
    assert list(iterator) == [4, 5]


def test_imap_input_error_raised_in_order(pool: Pool) -> None:
    def source():
        yield 1
        yield 2
        raise KeyError("input broke")

    iterator = pool.imap(t.square, source(), 1)
    assert next(iterator) == 1
    assert next(iterator) == 4
    with pytest.raises(KeyError, match="input broke"):
        next(iterator)


def test_aliases_are_the_same_callables(pool: Pool) -> None:
    assert Pool.applyAsync is Pool.apply_async
    assert Pool.mapAsync is Pool.map_async
    assert Pool.imapUnordered is Pool.imap_unordered
    assert pool.applyAsync(t.square, (2,)).get(10) == 4


def test_awaitable_results(pool: Pool) -> None:
    async def main() -> tuple[int, list[int]]:
        single = await pool.apply_async(t.square, (6,))
        many = await pool.map_async(t.square, range(4))
        return single, many

    assert asyncio.run(main()) == (36, [0, 1, 4, 9])


def test_awaitable_failure(pool: Pool) -> None:
    async def main() -> None:
        await pool.apply_async(t.raise_value_error, ("async",))

    with pytest.raises(ValueError, match="async"):
        asyncio.run(main())


def test_many_threads_submit_at_once(pool: Pool) -> None:
    results: list[list[int]] = []

    def submit() -> None:
        results.append([r.get(30) for r in [pool.apply_async(t.square, (i,)) for i in range(200)]])

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [[i * i for i in range(200)]] * 4


def test_thread_pool_aliases() -> None:
    assert ThreadPool.applyAsync is ThreadPool.apply_async
    assert ThreadPool.imapUnordered is ThreadPool.imap_unordered


def test_pool_cannot_be_pickled(pool: Pool) -> None:
    with pytest.raises(NotImplementedError, match="cannot be passed"):
        pickle.dumps(pool)


def test_repr(pool: Pool) -> None:
    assert "state=RUN" in repr(pool) and "pool_size=2" in repr(pool)


def test_workers_are_named(pool: Pool) -> None:
    pids = set(pool.map(t.pid_of, range(40), 1))
    if isinstance(pool, ThreadPool):
        assert pids == {os.getpid()}
        assert all(thread.name.startswith("ThreadPoolWorker-") for thread in pool._backend._threads)
    else:
        assert os.getpid() not in pids
        names = [slot.process.name for slot in pool._backend._slots]
        assert all(name.startswith("PoolWorker-") for name in names)
