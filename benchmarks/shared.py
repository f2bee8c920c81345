"""Shared arrays: element writes from Python (locked Array and RawArray) and bulk copies into a
RawArray against the memcpy floor."""

from __future__ import annotations

import ctypes
import time
from typing import Any

from benchmarks.common import Scale, billiard_api, build, nothing, processing_api, stdlib
from benchmarks.harness import Workload

MiB = 1024 * 1024
LENGTH = 1024


def _rows(*names: str, context: str | None = None) -> dict[str, Any]:
    """Look-ups per row; ``context`` only where children are started (in-process use needs none)."""
    return {
        "processing": lambda: processing_api(*names, context=context),
        "multiprocessing": lambda: stdlib(context),
        "billiard": lambda: billiard_api(context),
    }


def _element_writes(api: Any, factory: str, count: int) -> float:
    array = getattr(api, factory)("d", LENGTH)
    start = time.perf_counter()
    for i in range(count):
        array[i % LENGTH] = 1.5
    return time.perf_counter() - start


def _bulk_copy(api: Any, size: int, count: int) -> float:
    array = api.RawArray("b", size)
    source = b"s" * size
    view = memoryview(array).cast("B")
    start = time.perf_counter()
    for _ in range(count):
        view[:] = source
    elapsed = time.perf_counter() - start
    view.release()
    return elapsed


def _memcpy(size: int, count: int) -> float:
    target = ctypes.create_string_buffer(size)
    source = b"s" * size
    start = time.perf_counter()
    for _ in range(count):
        ctypes.memmove(target, source, size)
    return time.perf_counter() - start


def workloads(scale: Scale) -> list[Workload]:
    writes = scale.n(200_000, 50_000, 1_000)
    size = scale.n(64, 16, 1) * MiB
    copies = scale.n(20, 10, 2)
    bulk = [
        build(row, copies, lookup, lambda api: _bulk_copy(api, size, copies))
        for row, lookup in _rows("RawArray").items()
    ]
    bulk.append(build("memcpy", copies, nothing, lambda _: _memcpy(size, copies), note="ctypes.memmove"))
    return [
        Workload(
            id="shared.array.writes",
            family="shared memory",
            title=f"Locked Array('d', {LENGTH}) element writes from Python",
            unit="write",
            cases=[
                build(row, writes, lookup, lambda api: _element_writes(api, "Array", writes))
                for row, lookup in _rows("Array").items()
            ],
        ),
        Workload(
            id="shared.rawarray.writes",
            family="shared memory",
            title=f"RawArray('d', {LENGTH}) element writes from Python",
            unit="write",
            cases=[
                build(row, writes, lookup, lambda api: _element_writes(api, "RawArray", writes))
                for row, lookup in _rows("RawArray").items()
            ],
        ),
        Workload(
            id="shared.rawarray.bulk",
            family="shared memory",
            title=f"Copy {size // MiB} MiB into a RawArray('b') through a memoryview",
            unit="copy",
            cases=bulk,
            bytes_per_unit=size,
        ),
    ]
