"""Targets of the load tests' child processes (importable by name under every start method)."""

from __future__ import annotations

from typing import Any

STOP = None
PER_PRODUCER = 250_000
BATCH = 1000


def produce(queue: Any, producer: int, count: int = PER_PRODUCER) -> None:
    """Put the integers ``producer * count + k`` for k in range(count), in batches."""
    base = producer * count
    for start in range(0, count, BATCH):
        queue.put_many(range(base + start, base + min(start + BATCH, count)))


def consume(queue: Any, results: Any, total: int) -> None:
    """Take items until STOP; report a bytes map of how often each item was seen."""
    seen = bytearray(total)
    while True:
        items = queue.get_many(timeout=120, max_messages=BATCH)
        for index, item in enumerate(items):
            if item is STOP:
                queue.put_many(items[index + 1 :])  # another consumer's STOP, taken in the batch
                results.put(bytes(seen))
                return
            if seen[item] < 255:
                seen[item] += 1


def hammer_manager(shared_list: Any, shared_dict: Any, lock: Any, counter: Any, client: int, rounds: int) -> None:
    """One of many concurrent manager clients: list appends, dict writes, a locked counter."""
    for i in range(rounds):
        shared_list.append((client, i))
        shared_dict[f"{client}-{i}"] = i
        with lock:
            counter.value = counter.value + 1
