"""Module-level targets for the connection tests (spawned children import them by name)."""

from __future__ import annotations

import hashlib
import os
import time


def echo(conn) -> None:  # type: ignore[no-untyped-def]
    """Send back every message until b"stop" (a forked child may hold the other end too)."""
    with conn:
        while (message := conn.recv_bytes()) != b"stop":
            conn.send_bytes(message)


def report_digest(reader, writer) -> None:  # type: ignore[no-untyped-def]
    """Read one message from a one-way pipe; write its length and SHA-256 to another."""
    data = reader.recv_bytes()
    writer.send((len(data), hashlib.sha256(data).hexdigest()))
    reader.close()
    writer.close()


def receive_connection_and_use_it(carrier) -> None:  # type: ignore[no-untyped-def]
    """Receive a Connection over ``carrier`` (a running process: the resource sharer path)."""
    conn = carrier.recv()
    conn.send(("hello through a passed connection", os.getpid()))
    conn.close()
    carrier.send("done")
    carrier.close()


def client_of(address, authenticate: bool, message: object) -> None:  # type: ignore[no-untyped-def]
    """Connect to a Listener (with the process's authkey when asked) and send a message."""
    from processing_core.connection import Client

    with Client(address, authenticate=authenticate) as conn:
        conn.send(message)
        assert conn.recv() == ("ack", message)


def sleep_then_send(conn, seconds: float, message: object) -> None:  # type: ignore[no-untyped-def]
    time.sleep(seconds)
    conn.send(message)
    conn.close()
