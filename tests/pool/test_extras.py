"""Beyond the standard library: recycling, progress, cloudpickle, lazy imap, nested pools, load."""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import pool_targets as t
import processing_core
from processing_pool import Pool, SerializationError


def _finish(pool: Pool) -> None:
    pool.close()
    pool.join()


def test_maxtasksperchild_recycles_workers(ctx) -> None:
    pool = Pool(1, maxtasksperchild=2, context=ctx)
    pids = [pool.apply(t.pid_of) for _ in range(6)]
    assert pool.map(t.square, range(10), 1) == [x * x for x in range(10)]
    _finish(pool)
    assert len(set(pids)) == 3
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4]


def test_max_memory_per_child_recycles_a_grown_worker(ctx) -> None:
    # A forked worker's resident size includes the pages it still shares with this
    # (possibly large) test process: set the limit above that, not at a fixed size.
    own_rss = int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    pool = Pool(1, max_memory_per_child=own_rss + (150 << 20), context=ctx)
    first = pool.apply(t.hoard, (1,))
    assert pool.apply(t.hoard, (1,)) == first  # small: kept
    grown = pool.apply(t.hoard, (200 + (own_rss >> 20),))  # past the limit: replaced after this task
    assert grown == first
    assert pool.apply(t.hoard, (1,)) != first
    _finish(pool)


def test_progress_callback_sees_every_item(ctx) -> None:
    seen: list[tuple[int, int | None]] = []
    pool = Pool(2, context=ctx)
    assert pool.map(t.square, range(100), 10, progress=lambda done, total: seen.append((done, total))) == [
        x * x for x in range(100)
    ]
    assert seen[-1] == (100, 100)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    seen.clear()
    assert sorted(pool.imap_unordered(t.square, iter(range(50)), 5, progress=lambda d, n: seen.append((d, n)))) == [
        x * x for x in range(50)
    ]
    assert seen[-1] == (50, None)
    _finish(pool)


def test_progress_true_with_tqdm_and_plain(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("tqdm")  # the test env installs it; the plain fallback is checked below either way
    pool = Pool(2, context="fork")
    assert pool.starmap(t.add, [(i, i) for i in range(40)], 4, progress=True) == [2 * i for i in range(40)]
    assert "40/40" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # as if tqdm were not installed
    assert list(pool.imap(t.square, range(30), 3, progress=True)) == [x * x for x in range(30)]
    err = capsys.readouterr().err
    assert "square: 30/30 (100%)" in err
    _finish(pool)


def test_cloudpickle_sends_lambdas_and_closures(start_method: str) -> None:
    pytest.importorskip("cloudpickle")
    offset = 10
    pool = Pool(2, context=start_method, serializer="cloudpickle", initializer=lambda: None)
    assert pool.map(lambda x: x + offset, range(5)) == [10, 11, 12, 13, 14]
    assert pool.apply(lambda a, b=1: a * b, (3,), {"b": 4}) == 12
    _finish(pool)


def test_plain_pickle_rejects_lambdas_clearly() -> None:
    pool = Pool(1, context="spawn")
    with pytest.raises(SerializationError, match="could not be pickled"):
        pool.apply(lambda: 1)
    _finish(pool)


def test_imap_over_an_endless_generator_reads_lazily(ctx) -> None:
    read = itertools.count()
    source = (next(read) for _ in itertools.count())
    pool = Pool(2, context=ctx)
    iterator = pool.imap(t.identity, source)
    assert [next(iterator) for _ in range(20_000)] == list(range(20_000))
    ahead = next(read) - 20_000
    # A bounded window (a few chunks per worker) is read ahead, never the whole input.
    assert ahead < 8 * 2 * 8192, ahead
    unordered = pool.imap_unordered(t.identity, itertools.count())
    assert len({next(unordered) for _ in range(20_000)}) == 20_000
    pool.terminate()  # an endless imap has no end for close() to wait for
    pool.join()


def test_nested_pools_in_workers(ctx) -> None:
    pool = Pool(2, context=ctx)
    assert pool.map(t.nested_pool_sum, [5, 10], 1) == [sum(x * x for x in range(n)) for n in (5, 10)]
    _finish(pool)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_million_tiny_tasks(start_method: str) -> None:
    pool = Pool(2, context=processing_core.get_context(start_method))
    n = 1_000_000
    assert pool.map(t.square, range(n)) == [x * x for x in range(n)]
    seen = bytearray(n)
    for value in pool.imap_unordered(t.identity, range(n)):
        seen[value] += 1
    assert seen == bytearray(b"\x01") * n
    _finish(pool)


def test_task_timeout_applies_to_a_map_chunk(ctx) -> None:
    with Pool(2, context=ctx, task_timeout=0.5) as pool:
        with pytest.raises(processing_core.TimeoutError):
            pool.map(t.sleep_then, [0, 0, 30, 0], 1)
        assert pool.map(t.square, range(6), 1) == [0, 1, 4, 9, 16, 25]
        results = list(pool.imap(t.square, range(6), 2))
        assert results == [0, 1, 4, 9, 16, 25]
        pool.close()
        pool.join()


def test_context_pool_method(ctx) -> None:
    import processing_pool  # noqa: F401 - registers ctx.Pool

    pool = ctx.Pool(2)
    assert isinstance(pool, Pool)
    assert pool.apply(t.square, (12,)) == 144
    _finish(pool)
