"""Process start-up: start and join a child that does nothing, by start method.

The floors: a bare os.fork + waitpid for fork, and ``python -c pass`` (posix_spawn of a new
interpreter, no multiprocessing) for spawn and forkserver.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

from benchmarks import tasks
from benchmarks.common import Scale, billiard_api, build, nothing, processing_api, stdlib
from benchmarks.harness import Workload

METHODS = ("fork", "spawn", "forkserver")


def _start_join(api: object, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        child = api.Process(target=tasks.noop)  # type: ignore[attr-defined]
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"no-op child exited with {child.exitcode}")
    return time.perf_counter() - start


def _bare_fork(count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        pid = os.fork()
        if pid == 0:  # pragma: no cover - child
            os._exit(0)
        os.waitpid(pid, 0)
    return time.perf_counter() - start


def _python_pass(count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - start


def workloads(scale: Scale) -> list[Workload]:
    found = []
    counts = {"fork": scale.n(60, 30, 3), "spawn": scale.n(10, 4, 1), "forkserver": scale.n(25, 15, 2)}
    for method in METHODS:
        count = counts[method]
        lookups = {
            "processing": lambda m=method: processing_api("Process", context=m),
            "multiprocessing": lambda m=method: stdlib(m),
            "billiard": lambda m=method: billiard_api(m),
        }
        cases = [build(row, count, lookup, lambda api, c=count: _start_join(api, c)) for row, lookup in lookups.items()]
        if method == "fork":
            cases.append(build("os.fork", count, nothing, lambda _, c=count: _bare_fork(c)))
        else:
            cases.append(build("python -c pass", count, nothing, lambda _, c=count: _python_pass(c)))
        found.append(
            Workload(
                id=f"process.start.{method}",
                family="processes",
                title=f"Start and join a no-op child, {method}",
                unit="start",
                cases=cases,
            )
        )
    return found
