"""Managers: start-up and shutdown, and proxy round trips from the parent and from a child."""

from __future__ import annotations

import time
from typing import Any

from benchmarks import tasks
from benchmarks.common import FORK, Gate, Scale, billiard_api, build, children, processing_api, stdlib
from benchmarks.harness import Workload

KINDS = ("list.append", "dict.set", "namespace.get")


def _rows() -> dict[str, Any]:
    return {
        "processing": lambda: processing_api("Process", "Manager", context=FORK),
        "multiprocessing": lambda: stdlib(FORK),
        "billiard": lambda: billiard_api(FORK),
    }


def _startup(api: Any, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        manager = api.Manager()
        manager.shutdown()
    return time.perf_counter() - start


def _target(manager: Any, kind: str) -> Any:
    if kind == "list.append":
        return manager.list()
    if kind == "dict.set":
        return manager.dict()
    namespace = manager.Namespace()
    namespace.value = 42
    return namespace


def _calls(api: Any, kind: str, count: int, from_child: bool) -> float:
    manager = api.Manager()
    try:
        target = _target(manager, kind)
        if not from_child:
            start = time.perf_counter()
            tasks.proxy_round_trips(target, kind, count)
            return time.perf_counter() - start
        gate = Gate()
        try:
            with children() as started:
                child = api.Process(target=tasks.proxy_calls, args=(target, kind, count, gate))
                child.start()
                started.append(child)
                return gate.race(1)
        finally:
            gate.close()
    finally:
        manager.shutdown()


def workloads(scale: Scale) -> list[Workload]:
    starts = scale.n(5, 3, 1)
    found = [
        Workload(
            id="manager.startup",
            family="managers",
            title="Manager start-up and shutdown",
            unit="manager",
            cases=[build(row, starts, lookup, lambda api: _startup(api, starts)) for row, lookup in _rows().items()],
        )
    ]
    calls = scale.n(10_000, 3_000, 50)
    for where in ("parent", "child"):
        for kind in KINDS:
            found.append(
                Workload(
                    id=f"manager.{kind}.{where}",
                    family="managers",
                    title=f"Proxy {kind} round trips from the {where}",
                    unit="call",
                    cases=[
                        build(row, calls, lookup, lambda api, k=kind, w=where: _calls(api, k, calls, w == "child"))
                        for row, lookup in _rows().items()
                    ],
                )
            )
    return found
