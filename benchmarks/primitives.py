"""Locks, shared values, events and conditions: creation, uncontended use, and two processes
taking turns (where a cross-CPU wake-up dominates, so these are offered pinned to one CPU too)."""

from __future__ import annotations

import time
from typing import Any

from benchmarks import tasks
from benchmarks.common import FORK, Gate, Scale, billiard_api, build, children, processing_api, stdlib
from benchmarks.harness import Workload


def _rows(*names: str, context: str | None = None) -> dict[str, Any]:
    """Look-ups per row; ``context`` only where children are started (in-process use needs none)."""
    return {
        "processing": lambda: processing_api(*names, context=context),
        "multiprocessing": lambda: stdlib(context),
        "billiard": lambda: billiard_api(context),
    }


def _create(api: Any, factory: str, args: tuple[Any, ...], count: int) -> float:
    make = getattr(api, factory)
    start = time.perf_counter()
    made = [make(*args) for _ in range(count)]
    elapsed = time.perf_counter() - start
    del made
    return elapsed


def _uncontended(api: Any, count: int) -> float:
    lock = api.Lock()
    start = time.perf_counter()
    for _ in range(count):
        with lock:
            pass
    return time.perf_counter() - start


def _two_processes(api: Any, target: Any, args: tuple[Any, ...], parent_turns: Any = None) -> float:
    gate = Gate()
    try:
        with children() as started:
            for _ in range(1 if parent_turns else 2):
                child = api.Process(target=target, args=(*args, gate))
                child.start()
                started.append(child)
            return gate.race(1 if parent_turns else 2, parent_turns)
    finally:
        gate.close()


def _contended_value(api: Any, count: int) -> float:
    value = api.Value("i", 0)
    elapsed = _two_processes(api, tasks.locked_increments, (value, count // 2))
    if value.value != count // 2 * 2:
        raise RuntimeError(f"lost updates: {value.value} != {count // 2 * 2}")
    return elapsed


def _event_ping_pong(api: Any, count: int) -> float:
    ping, pong = api.Event(), api.Event()

    def parent() -> None:
        for _ in range(count):
            ping.set()
            pong.wait()
            pong.clear()

    return _two_processes(api, tasks.event_pong, (ping, pong, count), parent)


def _condition_ping_pong(api: Any, count: int) -> float:
    condition = api.Condition()
    turn = api.RawValue("i", 0)

    def parent() -> None:
        for _ in range(count):
            with condition:
                turn.value = 1
                condition.notify()
                while turn.value != 0:
                    condition.wait()

    return _two_processes(api, tasks.condition_pong, (condition, turn, count), parent)


def workloads(scale: Scale) -> list[Workload]:
    creations = scale.n(10_000, 10_000, 100)
    uses = scale.n(200_000, 50_000, 1_000)
    increments = scale.n(100_000, 20_000, 200)
    trips = scale.n(10_000, 3_000, 50)
    found = [
        Workload(
            id="sync.lock.create",
            family="sync",
            title=f"Create {creations:,} locks",
            unit="lock",
            cases=[
                build(row, creations, lookup, lambda api: _create(api, "Lock", (), creations))
                for row, lookup in _rows("Lock").items()
            ],
        ),
        Workload(
            id="sync.rawvalue.create",
            family="sync",
            title=f"Create {creations:,} RawValue('i')",
            unit="value",
            cases=[
                build(row, creations, lookup, lambda api: _create(api, "RawValue", ("i", 0), creations))
                for row, lookup in _rows("RawValue").items()
            ],
        ),
        Workload(
            id="sync.lock.uncontended",
            family="sync",
            title="Uncontended `with lock:` in one process",
            unit="acquire/release",
            cases=[
                build(row, uses, lookup, lambda api: _uncontended(api, uses)) for row, lookup in _rows("Lock").items()
            ],
        ),
        Workload(
            id="sync.value.contended",
            family="sync",
            title="Two processes incrementing a shared Value under its lock",
            unit="increment",
            cases=[
                build(row, increments, lookup, lambda api: _contended_value(api, increments))
                for row, lookup in _rows("Process", "Value", context=FORK).items()
            ],
            pin_variants=True,
        ),
        Workload(
            id="sync.event.pingpong",
            family="sync",
            title="Event set/wait ping-pong between two processes",
            unit="round trip",
            cases=[
                build(row, trips, lookup, lambda api: _event_ping_pong(api, trips))
                for row, lookup in _rows("Process", "Event", context=FORK).items()
            ],
            pin_variants=True,
        ),
        Workload(
            id="sync.condition.pingpong",
            family="sync",
            title="Condition wait/notify ping-pong between two processes",
            unit="round trip",
            cases=[
                build(row, trips, lookup, lambda api: _condition_ping_pong(api, trips))
                for row, lookup in _rows("Process", "Condition", "RawValue", context=FORK).items()
            ],
            pin_variants=True,
        ),
    ]
    return found
