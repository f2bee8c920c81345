"""The Pool API on the Dask backend: the behavioural suite of the local pool, run on Dask.

The test bodies of ``test_api`` and ``test_failures`` that hold for any backend are
imported and run here against a pool on one module-scoped ``LocalCluster`` (two worker
processes on 127.0.0.1); what differs on Dask (life cycle on a shared cluster, the
initializer, cloudpickle) is tested below them.
"""

from __future__ import annotations

import copyreg
import os
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # Dask workers import the targets by name
import pool_targets as t
import processing_core
from processing_pool import DaskBackend, Pool, SerializationError

# The bodies reused as they are: each runs with this module's `pool` fixture.
from test_api import (  # noqa: F401
    test_aliases_are_the_same_callables,
    test_apply,
    test_apply_async_callbacks,
    test_apply_async_result_api,
    test_awaitable_failure,
    test_awaitable_results,
    test_imap_error_at_its_position,
    test_imap_input_error_raised_in_order,
    test_imap_next_timeout,
    test_imap_ordered,
    test_imap_unordered,
    test_many_threads_submit_at_once,
    test_map,
    test_map_async,
    test_map_empty_and_generator,
    test_map_error_fails_the_map,
    test_pool_cannot_be_pickled,
    test_remote_exception_keeps_traceback,
    test_repr,
    test_starmap,
)
from test_failures import (  # noqa: F401
    test_argument_that_fails_to_unpickle_in_the_worker,
    test_exception_that_cannot_be_pickled,
    test_exception_that_fails_to_unpickle_in_the_parent,
    test_exception_whose_constructor_does_not_round_trip,
    test_one_bad_argument_in_a_batch_fails_alone,
    test_result_that_cannot_be_pickled_in_the_worker,
    test_result_that_fails_to_unpickle_in_the_parent,
)


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

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def cluster() -> Iterator[distributed.LocalCluster]:
    """Two single-threaded Dask worker processes on loopback; gone at module teardown."""
    with distributed.LocalCluster(
        processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
    ) as local:
        with distributed.Client(local) as client:
            pids = set(client.run(os.getpid).values())
        yield local
    for pid in pids:
        assert _gone(pid), f"Dask worker {pid} still alive after the cluster closed"


def _gone(pid: int, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="module")
def client(cluster: distributed.LocalCluster) -> Iterator[distributed.Client]:
    with distributed.Client(cluster, set_as_default=False) as dask_client:
        yield dask_client


@pytest.fixture(scope="module")
def pool(client: distributed.Client) -> Iterator[Pool]:
    """One pool for the reused bodies, on the module's cluster."""
    p = Pool(backend=DaskBackend(client))
    yield p
    p.close()
    p.join()


def _finish(pool: Pool) -> None:
    pool.close()
    pool.join()


# ------------------------------------------------------------------ life cycle


def test_close_then_join_finishes_the_work(client: distributed.Client) -> None:
    pool = Pool(backend=DaskBackend(client))
    results = [pool.apply_async(t.sleep_then, (0.05, i)) for i in range(6)]
    lazy = pool.imap(t.square, range(500), 1)
    pool.close()
    pool.join()
    assert [r.get(0) for r in results] == list(range(6))
    assert list(lazy) == [x * x for x in range(500)]
    assert client.status == "running"  # a client the pool was given stays open


def test_use_after_close_and_join_before_close(client: distributed.Client) -> None:
    pool = Pool(backend=DaskBackend(client))
    with pytest.raises(ValueError, match="still running"):
        pool.join()
    pool.close()
    for call in (
        lambda: pool.apply_async(t.square, (1,)),
        lambda: pool.map(t.square, [1]),
        lambda: pool.imap_unordered(t.square, [1]),
        lambda: pool.starmap(t.add, [(1, 2)]),
    ):
        with pytest.raises(ValueError, match="not running"):
            call()
    pool.join()


def test_terminate_fails_unfinished_results_without_hanging(client: distributed.Client) -> None:
    pool = Pool(backend=DaskBackend(client))
    slow = [pool.apply_async(t.sleep_then, (1.0, i)) for i in range(6)]
    time.sleep(0.2)
    pool.terminate()
    pool.join()
    for result in slow:
        with pytest.raises(processing_core.ProcessError, match="terminated"):
            result.get(5)
    with pytest.raises(ValueError, match="not running"):
        pool.apply_async(t.square, (1,))
    # On a shared cluster the two tasks running when the pool was terminated run to their
    # end (their results are dropped): wait for them rather than hand the next test a busy cluster.
    time.sleep(1.0)


def test_context_manager_on_an_own_cluster_leaves_no_process() -> None:
    # No address: the pool starts a LocalCluster of its own and closes it with the pool.
    with Pool(1, backend="dask") as pool:
        assert pool.map(t.square, range(10)) == [x * x for x in range(10)]
        (worker_pid,) = set(pool.map(t.pid_of, range(4), 1))
        assert worker_pid != os.getpid()
        assert "pool_size=1" in repr(pool)
    assert "TERMINATE" in repr(pool)
    pool.join()
    assert _gone(worker_pid)


def test_pool_by_address_leaves_the_cluster_running(cluster: distributed.LocalCluster, client) -> None:
    pool = Pool(backend="dask", address=cluster.scheduler_address)
    assert pool.starmap(t.add, [(i, 1) for i in range(30)]) == [i + 1 for i in range(30)]
    assert "pool_size=2" in repr(pool)
    _finish(pool)
    assert client.submit(t.square, 6, pure=False).result(30) == 36


def test_initializer_runs_once_in_every_worker(client: distributed.Client, tmp_path: Path) -> None:
    log = tmp_path / "init.log"
    with Pool(backend=DaskBackend(client), initializer=t.record_init, initargs=("ready",)) as pool:
        assert set(pool.map(t.read_init, range(20), 1)) == {"ready"}
        _finish(pool)
    with Pool(backend=DaskBackend(client), initializer=_append_pid, initargs=(str(log),)) as pool:
        pids = set(pool.map(t.pid_of, range(40), 1))
        _finish(pool)
    lines = log.read_text().split()
    assert sorted(lines) == sorted(str(pid) for pid in client.run(os.getpid).values())
    assert {int(pid) for pid in lines} >= pids


def _append_pid(path: str) -> None:
    with open(path, "a") as log:
        log.write(f"{os.getpid()}\n")


def test_failing_initializer_raises_when_the_pool_is_made(client: distributed.Client) -> None:
    with pytest.raises(RuntimeError, match="initializer failed"):
        Pool(backend=DaskBackend(client), initializer=t.failing_init)


def test_progress_and_callbacks(pool: Pool) -> None:
    seen: list[tuple[int, int | None]] = []
    squares = pool.map(t.square, range(100), 10, progress=lambda done, total: seen.append((done, total)))
    assert squares == [x * x for x in range(100)]
    assert seen[-1] == (100, 100)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)
    got: list[object] = []
    finished = threading.Event()
    pool.starmap_async(t.add, [(1, 2)] * 5, callback=lambda v: (got.append(v), finished.set()))
    assert finished.wait(30) and got == [[3] * 5]


def test_lambdas_travel_by_cloudpickle(pool: Pool) -> None:
    offset = 10
    assert pool.map(lambda x: x + offset, range(5)) == [10, 11, 12, 13, 14]


def test_task_that_cannot_be_pickled_fails_alone(pool: Pool) -> None:
    lock = threading.Lock()
    results = [pool.apply_async(t.identity, (lock if i == 3 else i,)) for i in range(8)]
    for i, result in enumerate(results):
        if i == 3:
            with pytest.raises(SerializationError, match="task could not be pickled"):
                result.get(30)
        else:
            assert result.get(30) == i


def test_a_backend_serves_one_pool(client: distributed.Client) -> None:
    backend = DaskBackend(client)
    pool = Pool(backend=backend)
    with pytest.raises(ValueError, match="one backend per pool"):
        Pool(backend=backend)
    _finish(pool)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"backend": "ray"}, ValueError, "backend must be"),
        ({"backend": "dask", "context": "spawn"}, ValueError, "context not supported"),
        ({"backend": "dask", "maxtasksperchild": 3}, ValueError, "maxtasksperchild"),
        ({"backend": "dask", "task_timeout": 1.0}, ValueError, "task_timeout"),
        ({"backend": "dask", "processes": 0}, ValueError, "processes"),
        ({"backend": "dask", "address": "tcp://127.0.0.1:1", "processes": 2}, ValueError, "processes"),
        ({"backend": "dask", "serializer": "json"}, ValueError, "serializer"),
        ({"backend": "dask", "initializer": 3}, TypeError, "initializer"),
    ],
)
def test_bad_arguments(kwargs: dict, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        Pool(**kwargs)


def test_bad_backend_arguments(client: distributed.Client) -> None:
    with pytest.raises(TypeError, match=r"distributed\.Client"):
        DaskBackend("tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="not both"):
        DaskBackend(client, address="tcp://127.0.0.1:8786")
    with pytest.raises(ValueError, match="n_workers"):
        DaskBackend(n_workers=0)
    with pytest.raises(ValueError, match="give address and processes to the backend"):
        Pool(2, backend=DaskBackend(client))
