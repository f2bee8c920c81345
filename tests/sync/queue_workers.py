"""Targets for the queue tests' child processes (importable under spawn and forkserver)."""

from __future__ import annotations

import os
import time
import zlib
from typing import Any

STOP = "STOP"


def produce(queue: Any, producer: int, count: int, batch: int = 0) -> None:
    """Put ``(producer, i)`` for i in range(count); in batches of ``batch`` if non-zero."""
    if batch:
        for start in range(0, count, batch):
            queue.put_many([(producer, i) for i in range(start, min(start + batch, count))])
    else:
        for i in range(count):
            queue.put((producer, i))


def consume(queue: Any, results: Any, batch: bool = False) -> None:
    """Take items until STOP; report (count, checksum, per-producer order kept) on ``results``."""
    count = 0
    checksum = 0
    last: dict[int, int] = {}
    in_order = True
    while True:
        items = queue.get_many(max_messages=64) if batch else [queue.get()]
        for index, item in enumerate(items):
            if item == STOP:
                # A batch may have taken another consumer's STOP too: hand it back.
                queue.put_many(items[index + 1 :])
                results.put((count, checksum, in_order))
                return
            producer, i = item
            if last.get(producer, -1) >= i:
                in_order = False
            last[producer] = i
            count += 1
            checksum += zlib.crc32(repr(item).encode())


def put_and_exit(queue: Any, items: list[Any]) -> None:
    """Put every item and return at once: nothing may be lost."""
    for item in items:
        queue.put(item)


def put_big(queue: Any, size: int, seed: int) -> None:
    """Put one payload of ``size`` bytes made from ``seed``."""
    queue.put(payload(size, seed))


def payload(size: int, seed: int) -> bytes:
    """A deterministic payload that is not all one byte."""
    block = bytes((seed + i) % 251 for i in range(4096))
    return (block * (size // len(block) + 1))[:size]


def echo_sum(tasks: Any, results: Any) -> None:
    """Take numbers from a JoinableQueue until None, mark each done, report the sum."""
    total = 0
    while True:
        item = tasks.get()
        if item is None:
            tasks.task_done()
            break
        total += item
        tasks.task_done()
    results.put(total)


def put_one_then_wait(queue: Any, flag: Any) -> None:
    """Put one item into a bounded queue, say so on ``flag``, then block on a second put."""
    queue.put("first")
    flag.put("ready")
    queue.put("second")


def stop_inside(queue_ring_fd_holder: Any, where: int, size: int) -> None:
    """Fault injection: stop for ever, holding the ring's lock, at ``where`` in a put or get."""
    from processing_core._native import lib

    lib.prc_ring_debug_stop_at(where)
    if where == 2:
        queue_ring_fd_holder.get()
    else:
        queue_ring_fd_holder.put(b"x" * size)
    time.sleep(60)  # not reached: the stop above never returns


def child_pid() -> int:
    return os.getpid()


_initialized_queue: Any = None


def remember_queue(queue: Any) -> None:
    """Pool initializer: keep the queue handed over at the worker's creation."""
    global _initialized_queue
    _initialized_queue = queue


def report_through_remembered_queue(x: int) -> int:
    """Pool task: put ``x * 10`` into the queue the initializer received."""
    _initialized_queue.put(x * 10)
    return x
