"""The Dask backend of the pool: tiny tasks through ``Pool(backend=DaskBackend(client))``
against plain ``client.map`` of the same tasks on the same cluster.

One ``LocalCluster`` (two single-threaded worker processes on 127.0.0.1, no dashboard)
serves every sample of the family; it starts on first use and closes at exit.  Rows are
"not installed" when ``distributed`` does not import (it is the pool's ``dask`` extra).
"""

from __future__ import annotations

import atexit
import logging
import time
from typing import Any

from benchmarks import tasks
from benchmarks.common import Missing, Scale, processing_api
from benchmarks.harness import ERROR, NOT_INSTALLED, NOT_YET, Case, Workload

DASK_ROW = "dask client.map"
WORKERS = 2
_cluster: dict[str, Any] = {}


def _client() -> Any:
    """The shared cluster's client, started on first use (raises Missing without distributed)."""
    if "client" not in _cluster:
        try:
            import distributed
        except Exception as exc:
            raise Missing(NOT_INSTALLED, f"distributed does not import: {type(exc).__name__}: {exc}") from exc
        cluster = distributed.LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.CRITICAL,  # shutdown chatter of the workers, not results
        )
        client = distributed.Client(cluster, set_as_default=False)
        _cluster.update(cluster=cluster, client=client)
        atexit.register(_close)
    return _cluster["client"]


def _close() -> None:
    client, cluster = _cluster.pop("client", None), _cluster.pop("cluster", None)
    if client is not None:
        client.close()
    if cluster is not None:
        cluster.close()


def _require_distributed() -> None:
    try:
        import distributed  # noqa: F401
    except Exception as exc:
        raise Missing(NOT_INSTALLED, f"distributed does not import: {type(exc).__name__}: {exc}") from exc


# The look-ups only check that the rows can run; the cluster starts when a sample first runs,
# so building the workload list (--list, --only of other families, the harness's tests) starts nothing.
def _lookup_processing() -> Any:
    api = processing_api("Pool")
    try:
        from processing_pool import DaskBackend
    except ImportError as exc:
        raise Missing(NOT_YET, "missing processing_pool.DaskBackend") from exc
    _require_distributed()
    return api.Pool, DaskBackend


def _lookup_dask() -> Any:
    _require_distributed()
    return None


def _case(impl: str, units: int, lookup: Any, run: Any, note: str) -> Case:
    try:
        found = lookup()
    except Missing as missing:
        return Case(impl, None, units, status=missing.status, unavailable=missing.reason, note=note)
    except Exception as exc:  # a cluster that does not start is this row's error, not the run's
        return Case(impl, None, units, status=ERROR, unavailable=f"{type(exc).__name__}: {exc}", note=note)
    return Case(impl, lambda: run(found), units, note=note)


def _through_pool(call: str, items: list[int]) -> Any:
    def run(found: Any) -> float:
        pool_class, backend_class = found
        pool = pool_class(backend=backend_class(_client()))
        try:
            pool.map(tasks.tiny, range(4 * WORKERS), 1)  # warm: the workers have the function
            start = time.perf_counter()
            if call == "map":
                values = pool.map(tasks.tiny, items)
            else:
                values = [result.get() for result in [pool.apply_async(tasks.tiny, (item,)) for item in items]]
            elapsed = time.perf_counter() - start
        finally:
            pool.close()
            pool.join()
        if values[-1] != items[-1] + 1:
            raise AssertionError("wrong results")
        return elapsed

    return run


def _plain_client_map(items: list[int]) -> Any:
    def run(_: Any) -> float:
        client = _client()
        client.gather(client.map(tasks.tiny, range(4 * WORKERS), pure=False))
        start = time.perf_counter()
        values = client.gather(client.map(tasks.tiny, items, pure=False))
        elapsed = time.perf_counter() - start
        if values[-1] != items[-1] + 1:
            raise AssertionError("wrong results")
        return elapsed

    return run


def workloads(scale: Scale) -> list[Workload]:
    count = scale.n(2_000, 1_000, 200)  # client.map costs ~2 ms a task: its row sets the run time
    items = list(range(count))
    found = []
    for call, how in (("map", "pool.map (default chunks)"), ("apply_async", "one apply_async per task")):
        found.append(
            Workload(
                id=f"pool.dask.{call}",
                family="pool.dask",
                self_warming=True,
                title=f"Dask backend: {count:,} tiny tasks, {how}, against client.map ({WORKERS} Dask workers)",
                unit="task",
                cases=[
                    _case("processing", count, _lookup_processing, _through_pool(call, items), "Pool(backend=...)"),
                    _case(DASK_ROW, count, _lookup_dask, _plain_client_map(items), "one Dask task per call"),
                ],
                baseline=DASK_ROW,
            )
        )
    return found
