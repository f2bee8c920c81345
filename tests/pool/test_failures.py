"""The crash matrix: what each kind of failure raises, and the pool carrying on after it."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import pool_targets as t
import processing_core
from processing_pool import Pool, RemoteError, RemoteTraceback, SerializationError, WorkerLostError


@pytest.fixture
def pool(ctx):
    p = Pool(2, context=ctx)
    yield p
    p.terminate()
    p.join()


def _still_usable(pool: Pool) -> None:
    assert pool.map(t.square, range(20)) == [x * x for x in range(20)]
    assert pool.apply(t.add, (2, 3)) == 5


@pytest.mark.parametrize(
    ("func", "args", "exitcode"),
    [
        (t.segfault, (), -signal.SIGSEGV),
        (t.hard_exit, (7,), 7),
        (t.sigkill_self, (), -signal.SIGKILL),
        (t.sys_exit, (5,), 5),
    ],
    ids=["segfault", "os._exit", "SIGKILL", "sys.exit"],
)
def test_worker_death_fails_its_task_and_names_the_exit(pool: Pool, func, args, exitcode: int) -> None:
    others = [pool.apply_async(t.sleep_then, (0.05, i)) for i in range(6)]
    doomed = pool.apply_async(func, args)
    with pytest.raises(WorkerLostError) as info:
        doomed.get(60)
    assert info.value.exitcode == exitcode
    if exitcode < 0:
        assert signal.Signals(-exitcode).name in str(info.value)
    else:
        assert f"exit code {exitcode}" in str(info.value)
    # Every other task completes: those queued behind the dead one run on the replacement.
    assert [result.get(60) for result in others] == list(range(6))
    _still_usable(pool)


def test_killed_worker_in_map_fails_the_map_not_the_pool(pool: Pool) -> None:
    with pytest.raises(WorkerLostError):
        pool.map(t.die_on, range(100), 5)
    _still_usable(pool)


def test_killed_worker_fails_only_its_tasks(pool: Pool) -> None:
    # One task per batch: each worker holds exactly what it runs.
    results = [pool.apply_async(t.die_on, (i, 13)) for i in range(40)]
    outcomes = []
    for result in results:
        try:
            outcomes.append(result.get(60))
        except WorkerLostError:
            outcomes.append("lost")
    # Tasks of a few milliseconds report as they finish: only the one running is lost.
    assert outcomes == [*range(13), "lost", *range(14, 40)]
    _still_usable(pool)


def test_tasks_queued_behind_a_crash_run_again(pool: Pool) -> None:
    # Tiny tasks travel in batches; a worker's death may take results it had not sent yet,
    # but the tasks it had not begun are run by another worker, never failed.
    results = [pool.apply_async(t.die_quickly_on, (i, 100)) for i in range(300)]
    outcomes = []
    for result in results:
        try:
            outcomes.append(result.get(60))
        except WorkerLostError:
            outcomes.append("lost")
    assert outcomes[100] == "lost"
    assert all(o in (i, "lost") for i, o in enumerate(outcomes))
    assert all(o == i for i, o in enumerate(outcomes) if i > 100)
    _still_usable(pool)


def test_task_that_cannot_be_pickled_in_the_parent(pool: Pool) -> None:
    result = pool.apply_async(t.identity, (lambda: None,))
    with pytest.raises(SerializationError, match="task could not be pickled") as info:
        result.get(10)
    assert info.value.__cause__ is not None
    _still_usable(pool)


def test_argument_that_fails_to_unpickle_in_the_worker(pool: Pool) -> None:
    with pytest.raises(SerializationError, match="could not be unpickled in the worker") as info:
        pool.apply(t.identity, (t.FailsToUnpickle(),))
    assert isinstance(info.value.__cause__, RemoteTraceback)
    assert "no unpickling for you" in str(info.value.__cause__)
    _still_usable(pool)


def test_argument_that_kills_the_worker_while_unpickling(pool: Pool) -> None:
    with pytest.raises(WorkerLostError, match="exit code 11"):
        pool.apply(t.identity, (t.CrashesOnUnpickle(),))
    _still_usable(pool)


def test_result_that_cannot_be_pickled_in_the_worker(pool: Pool) -> None:
    with pytest.raises(SerializationError, match="result could not be pickled") as info:
        pool.apply(t.return_unpicklable)
    assert "refuses to be pickled" in str(info.value.__cause__)
    _still_usable(pool)


def test_result_that_fails_to_unpickle_in_the_parent(pool: Pool) -> None:
    with pytest.raises(SerializationError, match="result could not be unpickled") as info:
        pool.apply(t.return_fails_to_unpickle)
    assert isinstance(info.value.__cause__, RuntimeError)
    _still_usable(pool)


def test_exception_whose_constructor_does_not_round_trip(pool: Pool) -> None:
    with pytest.raises(Exception) as info:
        pool.apply(t.raise_needs_two_args)
    if isinstance(info.value, t.NeedsTwoArgs):
        # Importing distributed (the Dask tests) installs tblib's exception pickling in
        # this process, and forked workers inherit it: then the exception itself arrives.
        assert "tblib" in sys.modules
    else:
        assert isinstance(info.value, RemoteError)
        assert "NeedsTwoArgs" in str(info.value) and "1-2" in str(info.value)
    assert "raise_needs_two_args" in str(info.value.__cause__)
    _still_usable(pool)


def test_exception_that_cannot_be_pickled(pool: Pool) -> None:
    with pytest.raises(RemoteError, match="UnpicklableError"):
        pool.apply(t.raise_unpicklable_error)
    _still_usable(pool)


def test_unpicklable_item_fails_its_map(pool: Pool) -> None:
    with pytest.raises(SerializationError):
        pool.map(t.identity, [1, 2, lambda: 3], 1)
    _still_usable(pool)


def test_imap_survives_a_dead_worker(pool: Pool) -> None:
    iterator = pool.imap(t.die_on, range(30), 1)
    outcomes = []
    while True:
        try:
            outcomes.append(iterator.next(timeout=60))
        except StopIteration:
            break
        except WorkerLostError:
            outcomes.append("lost")
    assert len(outcomes) == 30
    assert outcomes == [*range(13), "lost", *range(14, 30)]


def test_task_timeout_kills_and_replaces_the_worker(ctx) -> None:
    with Pool(2, context=ctx, task_timeout=0.5) as pool:
        stuck = pool.apply_async(t.sleep_then, (60,))
        quick = [pool.apply_async(t.square, (i,)) for i in range(10)]
        with pytest.raises(processing_core.TimeoutError, match="task_timeout"):
            stuck.get(30)
        assert [r.get(30) for r in quick] == [i * i for i in range(10)]
        _still_usable(pool)
        pool.close()
        pool.join()


def test_exception_that_fails_to_unpickle_in_the_parent(pool: Pool) -> None:
    with pytest.raises(SerializationError, match="exception could not be unpickled") as info:
        pool.apply(t.raise_parent_hostile, (os.getpid(),))
    assert "refuses to be unpickled in the parent" in str(info.value.__cause__)
    _still_usable(pool)


def test_idle_worker_killed_is_replaced(pool: Pool) -> None:
    victim = pool._backend._slots[0].process.pid
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while victim in [slot.process.pid for slot in pool._backend._slots] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert victim not in set(pool.map(t.pid_of, range(20), 1))
    _still_usable(pool)
    assert len(pool._backend._slots) == 2


def test_one_bad_argument_in_a_batch_fails_alone(pool: Pool) -> None:
    # Tiny tasks share a batch; the one that cannot be unpickled must not take the others along.
    pool.map(t.identity, range(50))  # let the pool learn that tasks are tiny (bigger batches)
    args = [t.FailsToUnpickle() if i == 25 else i for i in range(60)]
    results = [pool.apply_async(t.identity, (arg,)) for arg in args]
    for i, result in enumerate(results):
        if i == 25:
            with pytest.raises(SerializationError, match="unpickled in the worker"):
                result.get(30)
        else:
            assert result.get(30) == i


def test_a_batch_that_kills_its_worker_costs_only_the_culprit(pool: Pool) -> None:
    pool.map(t.identity, range(50))
    args = [t.CrashesOnUnpickle() if i == 25 else i for i in range(60)]
    results = [pool.apply_async(t.identity, (arg,)) for arg in args]
    for i, result in enumerate(results):
        if i == 25:
            with pytest.raises(WorkerLostError, match="exit code 11"):
                result.get(60)
        else:
            assert result.get(60) == i
    _still_usable(pool)
