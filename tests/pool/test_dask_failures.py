"""The Dask backend under stress: lost workers, 100,000 tiny tasks, and no ``distributed``."""

from __future__ import annotations

import copyreg
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import dask
import pytest

sys.path.insert(0, str(Path(__file__).parent))  # Dask workers import the targets by name
import pool_targets as t
import processing_core
from processing_pool import DaskBackend, Pool, WorkerLostError


def _import_distributed() -> Any:
    """Import ``distributed`` and undo the exception pickling it installs process-wide.

    ``import distributed`` registers tblib's reducer (``copyreg``) for every exception
    class defined so far; the local pool's tests (run in this process after these) check
    how exceptions that do not round-trip travel, so this process keeps its pickling.
    """
    before = dict(copyreg.dispatch_table)
    import distributed

    for cls in set(copyreg.dispatch_table) - set(before):
        del copyreg.dispatch_table[cls]
    copyreg.dispatch_table.update(before)
    return distributed


distributed = _import_distributed()

TINY_TASKS = 100_000
CLUSTER = {"processes": True, "n_workers": 2, "threads_per_worker": 1, "host": "127.0.0.1", "dashboard_address": None}


@pytest.fixture(scope="module")
def client() -> Iterator[distributed.Client]:
    """A client of two Dask worker processes on loopback; they are gone at module teardown."""
    with distributed.LocalCluster(**CLUSTER) as cluster, distributed.Client(cluster, set_as_default=False) as c:
        pids = set(c.run(os.getpid).values())
        yield c
    assert all(_gone(pid) for pid in pids)


def _gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def _finish(pool: Pool) -> None:
    pool.close()
    pool.join()


# --------------------------------------------------------------- lost workers


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_worker_killed_mid_map_is_replaced_and_the_map_completes() -> None:
    # Dask runs again, elsewhere, what a killed worker held (up to allowed-failures):
    # a worker lost once does not fail the map.
    with distributed.LocalCluster(**CLUSTER) as cluster, distributed.Client(cluster, set_as_default=False) as c:
        pool = Pool(backend=DaskBackend(c))
        result = pool.starmap_async(t.die_on, [(x, -1) for x in range(2000)], 20)  # 100 chunks of ~40 ms
        time.sleep(0.5)
        assert not result.ready()
        victim = next(iter(c.run(os.getpid).values()))
        os.kill(victim, signal.SIGKILL)
        assert result.get(60) == list(range(2000))
        assert victim not in set(pool.map(t.pid_of, range(20), 1))
        _finish(pool)
        survivors = set(c.run(os.getpid).values())
    assert all(_gone(pid) for pid in survivors | {victim})


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_task_that_kills_its_workers_fails_with_worker_lost_error() -> None:
    # Once Dask gives up on a task (KilledWorker), the pool raises what the local pool
    # raises for a lost worker; the pool carries on.
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        cluster = distributed.LocalCluster(**CLUSTER)
    with cluster, distributed.Client(cluster, set_as_default=False) as c:
        pool = Pool(backend=DaskBackend(c))
        with pytest.raises(WorkerLostError, match="Dask gave up") as info:
            pool.apply(t.hard_exit, (7,))
        assert info.value.exitcode is None
        assert type(info.value.__cause__).__name__ == "KilledWorker"
        with pytest.raises(WorkerLostError):
            pool.map(t.die_on, range(30), 1)  # item 13 kills every worker that runs it
        assert pool.map(t.square, range(50)) == [x * x for x in range(50)]
        assert pool.apply(t.add, (2, 3)) == 5
        _finish(pool)


@pytest.mark.slow
@pytest.mark.timeout(90)
def test_a_cluster_that_goes_away_fails_the_work_instead_of_hanging() -> None:
    cluster = distributed.LocalCluster(**CLUSTER)
    c = distributed.Client(cluster, set_as_default=False)
    try:
        pool = Pool(backend=DaskBackend(c))
        result = pool.starmap_async(t.die_on, [(x, -1) for x in range(5000)], 20)
        time.sleep(0.3)
        cluster.close()
        with pytest.raises(processing_core.ProcessError):  # WorkerLostError is one too
            result.get(60)
        pool.terminate()
        pool.join()
    finally:
        c.close()
        cluster.close()


# --------------------------------------------------------------- tiny tasks


@pytest.mark.timeout(120)
def test_100000_tiny_tasks_through_map_and_imap(client: distributed.Client) -> None:
    with Pool(backend=DaskBackend(client)) as pool:
        assert pool.map(t.square, range(TINY_TASKS)) == [x * x for x in range(TINY_TASKS)]
        assert sorted(pool.imap_unordered(t.square, iter(range(TINY_TASKS)))) == [x * x for x in range(TINY_TASKS)]
        _finish(pool)


@pytest.mark.timeout(180)
def test_100000_tiny_apply_async_calls(client: distributed.Client) -> None:
    with Pool(backend=DaskBackend(client)) as pool:
        results = [pool.apply_async(t.add, (i, 1)) for i in range(TINY_TASKS)]
        values = [result.get(120) for result in results]
        assert values == [i + 1 for i in range(TINY_TASKS)]
        _finish(pool)


# ------------------------------------------------------ distributed not installed


def test_missing_distributed_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "distributed", None)  # `import distributed` now fails
    with pytest.raises(ImportError, match=r"pip install 'processing-pool\[dask\]'") as info:
        Pool(backend="dask")
    assert isinstance(info.value.__cause__, ImportError)
    with pytest.raises(ImportError, match=r"processing-pool\[dask\]"):
        Pool(2, backend="dask", address="tcp://127.0.0.1:8786")
    with pytest.raises(ImportError, match=r"processing-pool\[dask\]"):
        DaskBackend()


def test_the_package_imports_without_distributed() -> None:
    code = (
        "import sys; sys.modules['distributed'] = None\n"
        "import processing_pool, processing\n"
        "assert 'distributed' not in {m for m in sys.modules if sys.modules[m] is not None}\n"
        "print(processing_pool.DaskBackend.__name__)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "DaskBackend"
