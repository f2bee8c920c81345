"""Process start-up: start and join a child that does nothing, by start method.

The floors: a bare os.fork + waitpid for fork, and ``python -c pass`` (posix_spawn of a new
interpreter, no multiprocessing) for spawn and forkserver.

Spawn and forkserver children re-run their parent's main module, so those rows run in
``start_driver.py``, a main module as small as a user's, with a target module that imports
nothing (``start_target.py``); one more spawn workload starts its children from the runner
itself, whose imports every child then repeats, to show what a heavy main module costs.
"""

from __future__ import annotations

import compileall
import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from benchmarks import tasks
from benchmarks.common import Scale, billiard_api, build, nothing, processing_api, stdlib
from benchmarks.harness import Workload

METHODS = ("fork", "spawn", "forkserver")
HERE = Path(__file__).resolve().parent
DRIVER = HERE / "start_driver.py"
LIBRARIES = {"processing": "processing", "multiprocessing": "multiprocessing", "billiard": "billiard"}


def _start_join(api: object, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        child = api.Process(target=tasks.noop)  # type: ignore[attr-defined]
        child.start()
        child.join()
        if child.exitcode != 0:
            raise RuntimeError(f"no-op child exited with {child.exitcode}")
    return time.perf_counter() - start


def _driven_start_join(library: str, method: str, count: int) -> float:
    """Seconds ``start_driver.py`` measured for ``count`` start + join of ``library``'s children."""
    _ensure_bytecode()
    done = subprocess.run(
        [sys.executable, str(DRIVER), library, method, str(count)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    if done.returncode != 0:
        raise RuntimeError(f"start_driver.py {library} {method} failed: {done.stderr.strip()[-2000:]}")
    return float(done.stdout.split()[-1])


_bytecode_written: list[bool] = []


def _ensure_bytecode() -> None:
    """Write the .pyc files of the libraries measured and of the benchmarks, once a run.

    Installed packages come with them, and Python writes them on first import, unless
    PYTHONDONTWRITEBYTECODE is set (as on some CI machines): then every spawned child
    would compile the sources of an editable install afresh, and the rows would measure
    the compiler.  The standard library ships its .pyc files, so this only evens things out.
    """
    if _bytecode_written:
        return
    _bytecode_written.append(True)
    places = [HERE]
    for name in ("processing", "processing_core", "processing_sync", "processing_pool", "processing_managers"):
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):  # not importable, or replaced by a stand-in
            continue
        if spec is not None and spec.submodule_search_locations:
            places.extend(Path(location) for location in spec.submodule_search_locations)
    for place in places:
        compileall.compile_dir(str(place), quiet=2)


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


def _start_join_heavy_main(api: object, count: int) -> float:
    _ensure_bytecode()
    return _start_join(api, count)


def workloads(scale: Scale) -> list[Workload]:
    found = []
    counts = {"fork": scale.n(60, 30, 3), "spawn": scale.n(10, 4, 1), "forkserver": scale.n(25, 15, 2)}
    for method in METHODS:
        count = counts[method]
        if method == "fork":  # a fork child runs no main module: measured in the runner itself
            lookups = _in_runner_lookups(method)
            cases = [build(row, count, look, lambda api, c=count: _start_join(api, c)) for row, look in lookups.items()]
            cases.append(build("os.fork", count, nothing, lambda _, c=count: _bare_fork(c)))
        else:
            cases = [
                build(row, count, look, lambda _, lib=LIBRARIES[row], m=method, c=count: _driven_start_join(lib, m, c))
                for row, look in _in_runner_lookups(method).items()
            ]
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
    count = counts["spawn"]
    cases = [
        build(row, count, look, lambda api, c=count: _start_join_heavy_main(api, c))
        for row, look in _in_runner_lookups("spawn").items()
    ]
    found.append(
        Workload(
            id="process.start.spawn.heavy_main",
            family="processes",
            title="Start and join a no-op child, spawn, from a main module with heavy imports (the runner)",
            unit="start",
            cases=cases,
        )
    )
    return found


def _in_runner_lookups(method: str) -> dict[str, Any]:
    """Row -> look-up of the API (it raises Missing when a library is absent)."""
    return {
        "processing": lambda: processing_api("Process", context=method),
        "multiprocessing": lambda: stdlib(method),
        "billiard": lambda: billiard_api(method),
    }
