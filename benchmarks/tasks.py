"""Functions that run in children and pool workers: module level, so every start method finds them."""

from __future__ import annotations

import os
import socket
from typing import Any

from benchmarks.common import Gate, read_exact

STOP = None  # end-of-stream marker on queues


# --- pool tasks --------------------------------------------------------------------------------


def noop(*args: Any) -> None:
    return None


def tiny(x: int) -> int:
    return x + 1


def cpu_work(n: int) -> int:
    """A pure-Python loop of about n iterations: CPU-bound, holds the GIL, no I/O."""
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


# --- connections --------------------------------------------------------------------------------


def conn_drain(conn: Any, count: int, gate: Gate) -> None:
    gate.arrive()
    for _ in range(count):
        conn.recv_bytes()
    gate.finish()


def conn_drain_objects(conn: Any, count: int, gate: Gate) -> None:
    gate.arrive()
    for _ in range(count):
        conn.recv()
    gate.finish()


def conn_echo(conn: Any, count: int, gate: Gate) -> None:
    gate.arrive()
    for _ in range(count):
        conn.send_bytes(conn.recv_bytes())
    gate.finish()


def fd_drain(fd: int, total: int, gate: Gate) -> None:
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    gate.arrive()
    while total:
        got = os.readv(fd, [view[: min(total, len(buffer))]])
        if not got:
            raise EOFError("pipe closed early")
        total -= got
    gate.finish()


def fd_echo(read_fd: int, write_fd: int, size: int, count: int, gate: Gate) -> None:
    gate.arrive()
    for _ in range(count):
        os.write(write_fd, read_exact(read_fd, size))
    gate.finish()


def sock_drain(sock: socket.socket, total: int, gate: Gate) -> None:
    buffer = bytearray(1 << 20)
    view = memoryview(buffer)
    gate.arrive()
    while total:
        got = sock.recv_into(view[: min(total, len(buffer))])
        if not got:
            raise EOFError("socket closed early")
        total -= got
    gate.finish()


# --- queues --------------------------------------------------------------------------------------


def queue_consume(queue: Any, gate: Gate) -> None:
    gate.arrive()
    while queue.get() is not STOP:
        pass
    gate.finish()


def queue_produce(queue: Any, item: Any, count: int, gate: Gate) -> None:
    gate.arrive()
    for _ in range(count):
        queue.put(item)
    queue.put(STOP)
    gate.finish()


def queue_consume_many(queue: Any, get_many: str, batch: int, gate: Gate) -> None:
    keyword = {"max_messages": batch} if get_many == "processing" else {"max_messages_to_get": batch}
    gate.arrive()
    running = True
    while running:
        for item in queue.get_many(**keyword):
            if item is STOP:
                running = False
    gate.finish()


def queue_produce_many(queue: Any, item: Any, count: int, batch: int, gate: Gate) -> None:
    gate.arrive()
    chunk = [item] * batch
    for _ in range(count // batch):
        queue.put_many(chunk)
    queue.put_many([item] * (count % batch) + [STOP])
    gate.finish()


# --- synchronisation -----------------------------------------------------------------------------


def locked_increments(value: Any, count: int, gate: Gate) -> None:
    gate.arrive()
    lock = value.get_lock()
    for _ in range(count):
        with lock:
            value.value += 1
    gate.finish()


def event_pong(ping: Any, pong: Any, count: int, gate: Gate) -> None:
    gate.arrive()
    for _ in range(count):
        ping.wait()
        ping.clear()
        pong.set()
    gate.finish()


def condition_pong(condition: Any, turn: Any, count: int, gate: Gate) -> None:
    """Wait for turn 1, hand back turn 0; the parent does the mirror image."""
    gate.arrive()
    for _ in range(count):
        with condition:
            while turn.value != 1:
                condition.wait()
            turn.value = 0
            condition.notify()
    gate.finish()


# --- managers ------------------------------------------------------------------------------------


def proxy_calls(target: Any, kind: str, count: int, gate: Gate) -> None:
    gate.arrive()
    proxy_round_trips(target, kind, count)
    gate.finish()


def proxy_round_trips(target: Any, kind: str, count: int) -> None:
    if kind == "list.append":
        for i in range(count):
            target.append(i)
    elif kind == "dict.set":
        for i in range(count):
            target[i % 64] = i
    elif kind == "namespace.get":
        for _ in range(count):
            _ = target.value
    else:
        raise ValueError(f"unknown proxy call kind {kind!r}")
