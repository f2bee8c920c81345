"""Pipes: one-way throughput by message size, pickled objects, and 64-byte ping-pong latency.

Every row starts its child by fork; the raw floor uses os.fork with bare os.pipe or
socketpair I/O (no framing, no pickling): nothing can move bytes faster through the kernel.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any

from benchmarks import tasks
from benchmarks.common import (
    FORK,
    Gate,
    Scale,
    billiard_api,
    build,
    children,
    fork_child,
    nothing,
    processing_api,
    read_exact,
    stdlib,
)
from benchmarks.harness import Workload

KiB, MiB = 1024, 1024 * 1024
SMALL_OBJECT = {"id": 12345, "name": "sensor-7", "values": [1.5, 2.5, 3.5], "ok": True}


def _connection_apis() -> dict[str, Callable[[], Any]]:
    """Row name -> a look-up of a context with Process and Pipe (raises Missing when absent)."""
    return {
        "processing": lambda: processing_api("Process", "Pipe", context=FORK),
        "multiprocessing": lambda: stdlib(FORK),
        "billiard": lambda: billiard_api(FORK),
    }


def _one_way(api: Any, size: int, count: int) -> float:
    receiver, sender = api.Pipe(duplex=False)
    payload = b"x" * size
    gate = Gate()
    try:
        with children() as started:
            child = api.Process(target=tasks.conn_drain, args=(receiver, count, gate))
            child.start()
            started.append(child)

            def send() -> None:
                for _ in range(count):
                    sender.send_bytes(payload)

            return gate.race(1, send)
    finally:
        gate.close()
        receiver.close()
        sender.close()


def _objects(api: Any, count: int) -> float:
    receiver, sender = api.Pipe(duplex=False)
    gate = Gate()
    try:
        with children() as started:
            child = api.Process(target=tasks.conn_drain_objects, args=(receiver, count, gate))
            child.start()
            started.append(child)

            def send() -> None:
                for _ in range(count):
                    sender.send(SMALL_OBJECT)

            return gate.race(1, send)
    finally:
        gate.close()
        receiver.close()
        sender.close()


def _ping_pong(api: Any, count: int) -> float:
    near, far = api.Pipe()
    payload = b"p" * 64
    gate = Gate()
    try:
        with children() as started:
            child = api.Process(target=tasks.conn_echo, args=(far, count, gate))
            child.start()
            started.append(child)

            def bounce() -> None:
                for _ in range(count):
                    near.send_bytes(payload)
                    near.recv_bytes()

            return gate.race(1, bounce)
    finally:
        gate.close()
        near.close()
        far.close()


def _write_all(fd: int, view: memoryview) -> None:
    while view:
        view = view[os.write(fd, view) :]


def _os_pipe_one_way(size: int, count: int) -> float:
    read_fd, write_fd = os.pipe()
    payload = memoryview(b"x" * size)
    gate = Gate()
    try:
        with children() as started:
            started.append(fork_child(lambda: tasks.fd_drain(read_fd, size * count, gate)))

            def send() -> None:
                for _ in range(count):
                    _write_all(write_fd, payload)

            return gate.race(1, send)
    finally:
        gate.close()
        os.close(read_fd)
        os.close(write_fd)


def _socketpair_one_way(size: int, count: int) -> float:
    near, far = socket.socketpair()
    payload = b"x" * size
    gate = Gate()
    try:
        with children() as started:
            started.append(fork_child(lambda: tasks.sock_drain(far, size * count, gate)))

            def send() -> None:
                for _ in range(count):
                    near.sendall(payload)

            return gate.race(1, send)
    finally:
        gate.close()
        near.close()
        far.close()


def _os_pipe_ping_pong(count: int) -> float:
    down_r, down_w = os.pipe()
    up_r, up_w = os.pipe()
    payload = b"p" * 64
    gate = Gate()
    try:
        with children() as started:
            started.append(fork_child(lambda: tasks.fd_echo(down_r, up_w, 64, count, gate)))

            def bounce() -> None:
                for _ in range(count):
                    os.write(down_w, payload)
                    read_exact(up_r, 64)

            return gate.race(1, bounce)
    finally:
        gate.close()
        for fd in (down_r, down_w, up_r, up_w):
            os.close(fd)


def _size_label(size: int) -> str:
    return f"{size // MiB} MiB" if size >= MiB else f"{size // KiB} KiB" if size >= KiB else f"{size} B"


def workloads(scale: Scale) -> list[Workload]:
    found = []
    counts = {
        64: scale.n(100_000, 20_000, 200),
        4 * KiB: scale.n(40_000, 10_000, 100),
        MiB: scale.n(400, 100, 4),
        64 * MiB: scale.n(6, 2, 1),
    }
    for size, count in counts.items():
        if scale.mode == "smoke" and size == 64 * MiB:
            size = 4 * MiB  # keep the smoke run light; the label says so
        label = _size_label(size)
        cases = [
            build(name, count, lookup, lambda api, size=size, count=count: _one_way(api, size, count))
            for name, lookup in _connection_apis().items()
        ]
        cases.append(build("os.pipe", count, nothing, lambda _, s=size, c=count: _os_pipe_one_way(s, c)))
        cases.append(build("socketpair", count, nothing, lambda _, s=size, c=count: _socketpair_one_way(s, c)))
        found.append(
            Workload(
                id=f"pipe.bytes.{label.replace(' ', '')}",
                family="pipes",
                title=f"Pipe, one way, {label} messages (send_bytes/recv_bytes)",
                unit="message",
                cases=cases,
                bytes_per_unit=size,
                series=("pipe throughput by message size", float(size)),
            )
        )
    objects = scale.n(50_000, 10_000, 100)
    found.append(
        Workload(
            id="pipe.objects.small",
            family="pipes",
            title="Pipe, one way, small pickled objects (send/recv)",
            unit="message",
            cases=[
                build(name, objects, lookup, lambda api: _objects(api, objects))
                for name, lookup in _connection_apis().items()
            ],
        )
    )
    trips = scale.n(20_000, 5_000, 100)
    cases = [
        build(name, trips, lookup, lambda api: _ping_pong(api, trips)) for name, lookup in _connection_apis().items()
    ]
    cases.append(build("os.pipe", trips, nothing, lambda _: _os_pipe_ping_pong(trips)))
    found.append(
        Workload(
            id="pipe.pingpong.64B",
            family="pipes",
            title="Pipe ping-pong, 64-byte round trip",
            unit="round trip",
            cases=cases,
            pin_variants=True,
        )
    )
    return found
