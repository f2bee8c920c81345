"""Closing, joining, terminating and collecting pools; bad arguments."""

from __future__ import annotations

import gc
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import pool_targets as t
import processing_core
from processing_pool import Pool


def test_close_then_join_finishes_the_work(ctx) -> None:
    pool = Pool(2, context=ctx)
    results = [pool.apply_async(t.sleep_then, (0.05, i)) for i in range(6)]
    pool.close()
    pool.join()
    assert [r.get(0) for r in results] == list(range(6))


def test_use_after_close_raises_value_error(ctx) -> None:
    pool = Pool(1, context=ctx)
    pool.close()
    for call in (
        lambda: pool.apply(t.square, (1,)),
        lambda: pool.apply_async(t.square, (1,)),
        lambda: pool.map(t.square, [1]),
        lambda: pool.map_async(t.square, [1]),
        lambda: pool.imap(t.square, [1]),
        lambda: pool.imap_unordered(t.square, [1]),
        lambda: pool.starmap(t.add, [(1, 2)]),
        lambda: pool.starmap_async(t.add, [(1, 2)]),
    ):
        with pytest.raises(ValueError, match="not running"):
            call()
    pool.join()


def test_join_before_close_is_an_error(ctx) -> None:
    pool = Pool(1, context=ctx)
    with pytest.raises(ValueError, match="still running"):
        pool.join()
    pool.terminate()
    pool.join()


def test_terminate_fails_unfinished_results_without_hanging(ctx) -> None:
    pool = Pool(2, context=ctx)
    slow = [pool.apply_async(t.sleep_then, (30, i)) for i in range(5)]
    time.sleep(0.2)
    started = time.monotonic()
    pool.terminate()
    pool.join()
    assert time.monotonic() - started < 20
    for result in slow:
        with pytest.raises(processing_core.ProcessError, match="terminated"):
            result.get(5)


def test_context_manager_terminates(ctx) -> None:
    with Pool(2, context=ctx) as pool:
        assert pool.map(t.square, range(4)) == [0, 1, 4, 9]
    assert "TERMINATE" in repr(pool)
    pool.join()


def test_garbage_collection_stops_workers(ctx) -> None:
    pool = Pool(2, context=ctx)
    assert pool.apply(t.square, (3,)) == 9
    backend = pool._backend
    del pool
    gc.collect()
    backend.join()
    assert not backend._slots


def test_start_method_by_name() -> None:
    with Pool(1, context="spawn") as pool:
        assert pool.apply(t.square, (5,)) == 25


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"processes": 0}, ValueError, "processes"),
        ({"processes": "2"}, TypeError, "processes"),
        ({"maxtasksperchild": 0}, ValueError, "maxtasksperchild"),
        ({"task_timeout": -1}, ValueError, "task_timeout"),
        ({"max_memory_per_child": 0}, ValueError, "max_memory_per_child"),
        ({"serializer": "json"}, ValueError, "serializer"),
        ({"initializer": 3}, TypeError, "initializer"),
        ({"context": 3.5}, TypeError, "context"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Pool(**kwargs)


def test_bad_call_arguments() -> None:
    with Pool(1, context="fork") as pool:
        with pytest.raises(TypeError, match="callable"):
            pool.apply_async(3)
        with pytest.raises(ValueError, match="chunksize"):
            pool.map(t.square, [1], 0)
        with pytest.raises(TypeError, match="progress"):
            pool.map(t.square, [1], progress="yes")
        pool.close()
        pool.join()


def test_initializer_runs_in_every_worker(ctx) -> None:
    with Pool(2, initializer=t.record_init, initargs=("ready",), context=ctx) as pool:
        assert set(pool.map(t.read_init, range(8), 1)) == {"ready"}
        pool.close()
        pool.join()


def test_failing_initializer_fails_tasks_instead_of_hanging(ctx) -> None:
    with Pool(1, initializer=t.failing_init, context=ctx) as pool:
        result = pool.apply_async(t.square, (2,))
        with pytest.raises(processing_core.ProcessError, match="initializer") as info:
            result.get(30)
        assert isinstance(info.value.__cause__, RuntimeError)


EXIT_WITHOUT_CLOSE = """
import sys
sys.path.insert(0, {targets!r})
import pool_targets as t
from processing_pool import Pool

if __name__ == "__main__":
    pool = Pool(2, context={method!r})
    busy = pool.apply_async(t.sleep_then, (60,))
    print(pool.apply(t.square, (4,)), flush=True)
    # No close(), no join(): leaving must stop the workers, not wait for them.
"""


@pytest.mark.timeout(60)
def test_exiting_without_closing_does_not_hang(start_method: str, tmp_path: Path) -> None:
    import subprocess

    script = tmp_path / "leave.py"
    script.write_text(EXIT_WITHOUT_CLOSE.format(targets=str(Path(__file__).parent), method=start_method))
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=45, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "16"
    assert time.monotonic() - started < 45


def test_pool_used_only_through_its_results(ctx) -> None:
    # Nothing but the iterator refers to the pool: it must live until the loop ends,
    # then go (its workers with it) when the iterator does.
    assert sum(Pool(2, context=ctx).imap(t.square, range(200))) == sum(x * x for x in range(200))
    assert Pool(1, context=ctx).apply_async(t.square, (9,)).get(30) == 81
    gc.collect()


def test_a_pool_in_a_forked_child_refuses_work() -> None:
    import os

    pool = Pool(1, context="fork")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's pool is not ours to use
        try:
            pool.apply_async(t.square, (2,))
        except RuntimeError:
            os.write(write_end, b"refused")
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    assert os.read(read_end, 100) == b"refused"
    os.close(read_end)
    pool.close()
    pool.join()
