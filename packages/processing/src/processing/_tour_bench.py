"""The workloads of the benchmark of ``python -m processing``, one measurement per run.

``main([LIBRARY, WORKLOAD, N])`` times one workload on one
library (``processing`` or the standard library's ``multiprocessing``) and prints the
seconds it took.  Each measurement runs in an interpreter of its own, so the two
libraries never share a process (``processing`` itself never imports the standard
library's machinery: the library is named on the command line).
"""

from __future__ import annotations

import importlib
import time
from types import ModuleType
from typing import Any

WORKLOADS = ("pipe", "queue", "pool")
MESSAGE = ("a message", 12345, 3.25)


def send_many(conn: Any, n: int) -> None:
    """Child of the pipe workload: send ``n`` messages, then ``None``."""
    conn.send("ready")
    for _ in range(n):
        conn.send(MESSAGE)
    conn.send(None)


def put_many(queue: Any, n: int) -> None:
    """Child of the queue workload: put ``n`` items, then ``None``."""
    queue.put("ready")
    for _ in range(n):
        queue.put(MESSAGE)
    queue.put(None)


def square(x: int) -> int:
    """A task of the pool workload."""
    return x * x


def time_pipe(library: ModuleType, n: int) -> float:
    """Seconds to receive ``n`` small messages sent by a child over a one-way pipe."""
    reader, writer = library.Pipe(duplex=False)
    child = library.Process(target=send_many, args=(writer, n))
    child.start()
    writer.close()
    reader.recv()
    started = time.perf_counter()
    while reader.recv() is not None:
        pass
    elapsed = time.perf_counter() - started
    child.join()
    return elapsed


def time_queue(library: ModuleType, n: int) -> float:
    """Seconds to get ``n`` small items put by a child on a ``Queue``."""
    queue = library.Queue()
    child = library.Process(target=put_many, args=(queue, n))
    child.start()
    queue.get()
    started = time.perf_counter()
    while queue.get() is not None:
        pass
    elapsed = time.perf_counter() - started
    child.join()
    return elapsed


def time_pool(library: ModuleType, n: int) -> float:
    """Seconds for a warm ``Pool(2)`` to ``map`` a tiny function over ``n`` items, 10 per chunk."""
    with library.Pool(2) as pool:
        pool.map(square, range(20))
        started = time.perf_counter()
        pool.map(square, range(n), chunksize=10)
        elapsed = time.perf_counter() - started
        pool.close()
        pool.join()
    return elapsed


def measure(library_name: str, workload: str, n: int) -> float:
    """Time ``workload`` with ``n`` items on the library named ``library_name``."""
    if workload not in WORKLOADS:
        raise ValueError(f"unknown workload {workload!r}: choose from {', '.join(WORKLOADS)}")
    library = importlib.import_module(library_name)
    timer = {"pipe": time_pipe, "queue": time_queue, "pool": time_pool}[workload]
    return timer(library, n)


def main(argv: list[str]) -> None:
    """Command line of one measurement: ``LIBRARY WORKLOAD N``; prints the seconds."""
    library_name, workload, count = argv
    print(f"{measure(library_name, workload, int(count)):.6f}")
