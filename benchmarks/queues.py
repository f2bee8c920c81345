"""Queues: small objects and 1 MiB payloads, one producer to one consumer and two to two,
plain put/get and batched (put_many/get_many where the library has them).

Children start by fork for every row; faster-fifo is a queue only, so its rows use the
standard library's fork Process around a faster_fifo.Queue.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from benchmarks import tasks
from benchmarks.common import FORK, Gate, Scale, anchor, billiard_api, build, children, processing_api, stdlib
from benchmarks.harness import Workload

MiB = 1024 * 1024
SMALL = (7, "item", 3.25)
BATCH = 256
FASTER_FIFO_BYTES = 64 * MiB  # its ring must hold a 1 MiB message and a batch of small ones


class QueueApi:
    """How one row makes a queue and starts a process, and which batch call it has."""

    def __init__(self, process_api: Any, make_queue: Callable[[], Any], batched: str = "") -> None:
        self.process_api = process_api
        self.make_queue = make_queue
        self.batched = batched  # "", "processing" (max_messages=) or "faster-fifo" (max_messages_to_get=)


def _processing(*extra: str) -> QueueApi:
    ctx = processing_api("Process", "Queue", context=FORK)
    if extra:  # the batch calls live on the queue object: look for them on a fresh queue
        probe = ctx.Queue()
        missing = [name for name in extra if not hasattr(probe, name)]
        _close(probe)
        if missing:
            from benchmarks.common import NOT_YET, Missing

            raise Missing(NOT_YET, "missing processing Queue." + ", Queue.".join(missing))
        return QueueApi(ctx, ctx.Queue, "processing")
    return QueueApi(ctx, ctx.Queue)


def _faster_fifo() -> QueueApi:
    module = anchor("faster-fifo")
    return QueueApi(stdlib(FORK), lambda: module.Queue(max_size_bytes=FASTER_FIFO_BYTES), "faster-fifo")


def _stdlib() -> QueueApi:
    ctx = stdlib(FORK)
    return QueueApi(ctx, ctx.Queue)


def _billiard() -> QueueApi:
    ctx = billiard_api(FORK)
    return QueueApi(ctx, ctx.Queue)


def _close(queue: Any) -> None:
    for name in ("close", "join_thread"):
        method = getattr(queue, name, None)
        if method is not None:
            with contextlib.suppress(Exception):  # best-effort cleanup of a finished queue
                method()


def _transfer(api: QueueApi, item: Any, count: int, producers: int, batched: bool) -> float:
    """Time ``count`` items from ``producers`` producers to as many consumers (1 -> 1: the parent produces)."""
    queue = api.make_queue()
    gate = Gate()
    try:
        with children() as started:

            def spawn(target: Callable[..., None], *args: Any) -> None:
                child = api.process_api.Process(target=target, args=(queue, *args, gate))
                child.start()
                started.append(child)

            for _ in range(producers):
                if batched:
                    spawn(tasks.queue_consume_many, api.batched, BATCH)
                else:
                    spawn(tasks.queue_consume)
            if producers == 1:
                body = (
                    (lambda: tasks.queue_produce_many(queue, item, count, BATCH, _NoGate()))
                    if batched
                    else (lambda: tasks.queue_produce(queue, item, count, _NoGate()))
                )
                return gate.race(1, body)
            for _ in range(producers):
                if batched:
                    spawn(tasks.queue_produce_many, item, count // producers, BATCH)
                else:
                    spawn(tasks.queue_produce, item, count // producers)
            return gate.race(2 * producers)
    finally:
        gate.close()
        _close(queue)


class _NoGate:
    """The parent producing in-line needs no start line of its own."""

    def arrive(self) -> None:
        pass

    def finish(self) -> None:
        pass


def workloads(scale: Scale) -> list[Workload]:
    small = scale.n(100_000, 20_000, 200)
    big = scale.n(200, 50, 4)
    big_item = b"q" * MiB
    plain = {
        "processing": _processing,
        "multiprocessing": _stdlib,
        "faster-fifo": _faster_fifo,
        "billiard": _billiard,
    }
    found = []
    for producers, count, item, name, title in (
        (1, small, SMALL, "1to1.small", "1 producer -> 1 consumer, small objects"),
        (2, small, SMALL, "2to2.small", "2 producers -> 2 consumers, small objects"),
        (1, big, big_item, "1to1.1MiB", "1 producer -> 1 consumer, 1 MiB payloads"),
    ):
        cases = [
            build(row, count, lookup, lambda api, p=producers, c=count, i=item: _transfer(api, i, c, p, False))
            for row, lookup in plain.items()
        ]
        found.append(
            Workload(
                id=f"queue.{name}",
                family="queues",
                title=f"Queue put/get, {title}",
                unit="item",
                cases=cases,
                bytes_per_unit=MiB if item is big_item else 0,
            )
        )
    # Batched: the standard library has no batch call, so its row (the baseline) is plain put/get.
    batched_rows = {
        "processing": (lambda: _processing("put_many", "get_many"), True),
        "multiprocessing": (_stdlib, False),
        "faster-fifo": (_faster_fifo, True),
    }
    cases = [
        build(
            row,
            small,
            lookup,
            lambda api, b=batch: _transfer(api, SMALL, small, 1, b),
            note="" if batch else "plain put/get: no batch API",
        )
        for row, (lookup, batch) in batched_rows.items()
    ]
    found.append(
        Workload(
            id="queue.1to1.small.batched",
            family="queues",
            title=f"Queue put_many/get_many (batches of {BATCH}), 1 -> 1, small objects",
            unit="item",
            cases=cases,
        )
    )
    return found
