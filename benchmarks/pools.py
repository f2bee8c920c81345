"""Pools: apply_async, map and imap_unordered of tiny tasks, CPU-bound speed-up, start-up, and
how map scales with task count and worker count.

Each sample opens a pool, warms it with a few tasks (so worker start-up is not counted,
except in the start-up workload), times the operation, and shuts the pool down.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

from benchmarks import tasks
from benchmarks.common import Gate, Scale, build, children, fork_child, nothing
from benchmarks.harness import Case, Workload
from benchmarks.pool_adapters import NOTES, POOLS, PoolApi

SERIAL = "serial"
CEILING = "os.fork"
EXECUTORS = ("concurrent.futures", "loky")
EXECUTOR_CAP = 20_000


def cores() -> int:
    return len(os.sched_getaffinity(0))


def _warm_then_time(
    api: PoolApi, workers: int, operation: Callable[[PoolApi, object], None], warm_call: str = "map"
) -> float:
    pool = api.open(workers)
    try:
        # Warm up with the call about to be timed: mpire fails an imap_unordered after a map on a
        # kept-alive pool ("'int' object is not subscriptable", mpire 2.10.2).
        getattr(api, warm_call)(pool, tasks.tiny, list(range(4 * workers)), 1)
        start = time.perf_counter()
        operation(api, pool)
        return time.perf_counter() - start
    finally:
        api.discard(pool)


def _startup(api: PoolApi, workers: int, cycles: int) -> float:
    """Seconds for ``cycles`` pools: open, run one task, close and join (shutdown is timed)."""
    start = time.perf_counter()
    for _ in range(cycles):
        pool = api.open(workers)
        try:
            api.apply_async(pool, tasks.noop, [0])
        except BaseException:
            api.discard(pool)
            raise
        api.close(pool)
    return time.perf_counter() - start


def _bare_fork_startup(workers: int, cycles: int) -> float:
    """Seconds for ``cycles`` rounds of forking ``workers`` bare children, stopping and reaping them.

    Each child waits for the end of a pipe and exits: what fork, exit and waitpid cost in
    this process (its memory size decides most of it), with no pool and no task.
    """
    start = time.perf_counter()
    for _ in range(cycles):
        stop_r, stop_w = os.pipe()
        try:
            with children() as started:

                def wait_for_stop(stop_r: int = stop_r, stop_w: int = stop_w) -> None:
                    os.close(stop_w)
                    os.read(stop_r, 1)

                for _ in range(workers):
                    started.append(fork_child(wait_for_stop))
                os.close(stop_w)
                stop_w = -1
                for pid in started:
                    os.waitpid(pid, 0)
                started.clear()
        finally:
            os.close(stop_r)
            if stop_w >= 0:
                os.close(stop_w)
    return time.perf_counter() - start


def _rows(units: int, operation: Callable[[PoolApi, object], None], workers: int) -> list[Case]:
    cases = []
    for row, lookup in POOLS.items():

        def run(api: PoolApi, op: Callable[[PoolApi, object], None] = operation) -> float:
            return _warm_then_time(api, workers, op)

        cases.append(build(row, units, lookup, run, note=NOTES.get(row, "")))
    return cases


def _map_rows(call: str, count: int, chunksize: int | None, workers: int) -> list[Case]:
    """Rows for ``call`` ("map" or "imap_unordered") of ``count`` tiny tasks.

    Executors default to chunksize 1, about 70 µs a task: with the default chunk size they are
    timed on the first EXECUTOR_CAP tasks only (the rate per task is what is compared), and
    their row says so.
    """
    cases = []
    for row, lookup in POOLS.items():
        items = list(range(count))
        note = NOTES.get(row, "")
        if row in EXECUTORS and chunksize is None and count > EXECUTOR_CAP:
            items = items[:EXECUTOR_CAP]
            note += f"; timed on {EXECUTOR_CAP:,} of the {count:,} tasks"

        def run(api: PoolApi, items: list[int] = items) -> float:
            return _warm_then_time(api, workers, lambda a, p: getattr(a, call)(p, tasks.tiny, items, chunksize), call)

        case = build(row, len(items), lookup, run, note=note)
        if call == "imap_unordered" and case.run is not None and not lookup().has_imap_unordered:
            continue  # the library has no such call: no row rather than a different call
        cases.append(case)
    return cases


def workloads(scale: Scale) -> list[Workload]:
    n_cores = cores()
    found = []
    applies = scale.n(20_000, 4_000, 100)
    found.append(
        Workload(
            id="pool.apply_async",
            family="pools",
            self_warming=True,
            title=f"Pool apply_async of {applies:,} single tiny tasks ({n_cores} workers)",
            unit="task",
            cases=_rows(applies, lambda api, pool: api.apply_async(pool, tasks.tiny, range(applies)), n_cores),
        )
    )
    tiny_tasks = scale.n(200_000, 40_000, 500)
    for call, chunksize in (("map", None), ("map", 1000), ("imap_unordered", None), ("imap_unordered", 1000)):
        label = "default chunk size" if chunksize is None else f"chunksize={chunksize}"
        found.append(
            Workload(
                id=f"pool.{call}.{'default' if chunksize is None else f'chunk{chunksize}'}",
                family="pools",
                self_warming=True,
                title=f"Pool {call} of {tiny_tasks:,} tiny tasks, {label} ({n_cores} workers)",
                unit="task",
                cases=_map_rows(call, tiny_tasks, chunksize, n_cores),
            )
        )
    found.append(_cpu_bound(scale, n_cores))
    cycles = scale.n(5, 3, 1)  # pools per sample: one start-up is a few ms and varies a lot
    startup_cases = [
        build(row, cycles, lookup, lambda api: _startup(api, n_cores, cycles), note=NOTES.get(row, ""))
        for row, lookup in POOLS.items()
    ]
    startup_cases.append(
        build(
            CEILING,
            cycles,
            nothing,
            lambda _: _bare_fork_startup(n_cores, cycles),
            note=f"{n_cores} bare children forked, stopped and reaped, no pool: the floor",
        )
    )
    found.append(
        Workload(
            id="pool.startup",
            family="pools",
            self_warming=True,
            title=f"Pool start-up, one task, shutdown ({n_cores} workers)",
            unit="pool",
            cases=startup_cases,
        )
    )
    found.extend(_scaling(scale, n_cores))
    return found


def _cpu_bound(scale: Scale, n_cores: int) -> Workload:
    """Speed-up of CPU-bound work against running it serially in the parent (the ideal is the core count)."""
    loop = scale.n(300_000, 150_000, 2_000)
    count = scale.n(8, 4, 2) * n_cores
    work = [loop] * count

    def serial(_: object) -> float:
        start = time.perf_counter()
        for item in work:
            tasks.cpu_work(item)
        return time.perf_counter() - start

    cases = [build(SERIAL, count, nothing, serial, note="the same tasks in the parent, one after another")]
    cases += _rows(count, lambda api, pool: api.map(pool, tasks.cpu_work, work, 1), n_cores)
    cases.append(
        build(
            CEILING,
            count,
            nothing,
            lambda _: _bare_fork_split(work, n_cores),
            note=f"{n_cores} bare forked children share the tasks, no pool: the machine's ceiling",
        )
    )
    return Workload(
        id="pool.cpu_bound",
        family="pools",
        title=f"CPU-bound speed-up: {count} tasks of ~{loop:,} loop steps on {n_cores} workers, against serial",
        unit="task",
        cases=cases,
        baseline=SERIAL,
    )


def _bare_fork_split(work: list[int], n_children: int) -> float:
    """Seconds for ``n_children`` forked children to run ``work`` between them, no pool at all.

    Child ``k`` runs tasks ``k``, ``k + n``, ``k + 2n``...  The clock runs from the start
    signal until every child has finished (fork and exit are not counted, as a warmed pool's
    workers are already running), so this is what the cores can do with the tasks.
    """
    gate = Gate()
    try:
        with children() as started:
            for k in range(n_children):

                def body(share: list[int] = work[k::n_children]) -> None:
                    gate.arrive()
                    for item in share:
                        tasks.cpu_work(item)
                    gate.finish()

                started.append(fork_child(body))
            return gate.race(n_children)
    finally:
        gate.close()


def _scaling(scale: Scale, n_cores: int) -> list[Workload]:
    found = []
    for count in {"full": (1_000, 10_000, 50_000), "quick": (1_000, 10_000), "smoke": (100,)}[scale.mode]:
        found.append(
            Workload(
                id=f"pool.map.tasks{count}",
                family="pools",
                self_warming=True,
                title=f"Pool map of {count:,} tiny tasks, default chunk size ({n_cores} workers)",
                unit="task",
                cases=_map_rows("map", count, None, n_cores),
                series=("pool map by task count", float(count)),
            )
        )
    count = scale.n(200, 100, 8)
    loop = scale.n(20_000, 20_000, 500)
    work = [loop] * count
    for workers in (1, 2, 4):
        found.append(
            Workload(
                id=f"pool.map.workers{workers}",
                family="pools",
                self_warming=True,
                title=f"Pool map of {count} tasks of ~{loop:,} loop steps on {workers} worker(s), chunksize=1",
                unit="task",
                cases=_rows(count, lambda api, pool: api.map(pool, tasks.cpu_work, work, 1), workers),
                series=("pool map by worker count", float(workers)),
            )
        )
    return found
