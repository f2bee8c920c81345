"""Handshakes of a ``Listener``, run side by side so that no peer can stall the others.

A listener with an authkey must authenticate each peer before handing its connection
out, and the exchange waits for the peer's answers.  Run inline, one peer that
connects and says nothing would block every later ``accept()``.  Instead each accepted
socket gets its own short-lived thread for the exchange, and ``accept()`` hands out
connections in the order their handshakes finish, while it keeps taking new sockets
off the listening one.

A handshake that has not finished ``timeout`` seconds after its socket was taken is
cut off (the socket is shut down, which wakes the thread blocked on it), and so is a
peer still pending when the listener closes.
"""

from __future__ import annotations

import contextlib
import errno
import os
import queue
import select
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from processing_core._auth import answer_challenge, deliver_challenge
from processing_core._connection import Connection
from processing_core._errors import AuthenticationError

__all__ = ["DEFAULT_HANDSHAKE_TIMEOUT", "MAX_PENDING_HANDSHAKES", "Handshakes"]

DEFAULT_HANDSHAKE_TIMEOUT = 60.0
# Beyond this many unfinished handshakes, new sockets wait in the kernel's backlog:
# a flood of silent peers costs at most this many threads and descriptors.
MAX_PENDING_HANDSHAKES = 64


class _Pending:
    """One peer whose handshake runs: its socket (to cut it off), address and deadline."""

    __slots__ = ("address", "deadline", "sock")

    def __init__(self, sock: socket.socket, address: Any, deadline: float) -> None:
        self.sock = sock
        self.address = address
        self.deadline = deadline


class Handshakes:
    """The unfinished handshakes of one listener, and the finished ones not yet handed out.

    Args:
        authkey: the key both sides must prove they know.
        timeout: seconds a peer has to finish its handshake (``None``: no limit).
        prepare: called on each accepted socket before the handshake (socket options).
    """

    def __init__(self, authkey: bytes, timeout: float | None, prepare: Callable[[socket.socket], None]) -> None:
        self._authkey = authkey
        self._timeout = timeout
        self._prepare = prepare
        self._lock = threading.Lock()
        self._pending: dict[int, _Pending] = {}
        self._finished: queue.SimpleQueue[tuple[Any, Connection | None, BaseException | None]] = queue.SimpleQueue()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        self._closed = False

    def accept(self, listening: socket.socket) -> tuple[Connection, Any]:
        """Return the next authenticated connection and its peer's address.

        Raises:
            AuthenticationError: the next peer to finish failed its handshake, or ran
                out of time (its connection is closed).
        """
        while True:
            if self._closed:
                raise OSError(errno.EBADF, "listener is closed")
            address, connection, error = self._next_finished()
            if error is not None:
                raise error
            if connection is not None:
                return connection, address
            self._wait_for_progress(listening)

    def _next_finished(self) -> tuple[Any, Connection | None, BaseException | None]:
        try:
            return self._finished.get_nowait()
        except queue.Empty:
            return None, None, None

    def _wait_for_progress(self, listening: socket.socket) -> None:
        """Block until a handshake finishes, a new peer connects, or a deadline passes."""
        with self._lock:
            full = len(self._pending) >= MAX_PENDING_HANDSHAKES
            deadlines = [p.deadline for p in self._pending.values()]
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        if not full:
            poller.register(listening.fileno(), select.POLLIN)
        nearest = min(deadlines, default=float("inf"))
        wait_ms = None if nearest == float("inf") else max(0, int((nearest - time.monotonic()) * 1000) + 1)
        ready = {fd for fd, _ in poller.poll(wait_ms)}
        if self._closed:
            raise OSError(errno.EBADF, "listener is closed")
        if self._wake_r in ready:
            with contextlib.suppress(BlockingIOError):
                os.read(self._wake_r, 4096)
        if listening.fileno() in ready:
            self._start(listening)
        self._cut_off_late()

    def _start(self, listening: socket.socket) -> None:
        try:
            sock, address = listening.accept()
        except (BlockingIOError, InterruptedError):
            return  # another thread took it
        try:
            self._prepare(sock)
        except BaseException:
            sock.close()
            raise
        deadline = time.monotonic() + self._timeout if self._timeout is not None else float("inf")
        pending = _Pending(sock, address, deadline)
        with self._lock:
            self._pending[id(pending)] = pending
        thread = threading.Thread(target=self._run, args=(pending,), name="processing-handshake", daemon=True)
        thread.start()

    def _run(self, pending: _Pending) -> None:
        # The connection owns a duplicate of the descriptor, so that cutting the socket
        # off (shutdown) and closing the connection never race on one descriptor number.
        connection = Connection(os.dup(pending.sock.fileno()))
        result: tuple[Any, Connection | None, BaseException | None]
        try:
            deliver_challenge(connection, self._authkey)
            answer_challenge(connection, self._authkey)
            result = (pending.address, connection, None)
        except BaseException as exc:  # handed to the thread that calls accept()
            connection.close()
            result = (pending.address, None, self._failure(pending, exc))
        # Under the lock: close() must not close the wake-up pipe between the check and
        # the write (the descriptor number could already name another file).
        with self._lock:
            self._pending.pop(id(pending), None)
            pending.sock.close()
            if self._closed:
                if result[1] is not None:
                    result[1].close()
                return
            self._finished.put(result)
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_w, b"\0")

    def _failure(self, pending: _Pending, exc: BaseException) -> BaseException:
        """The error accept() raises for a peer whose handshake failed."""
        if time.monotonic() >= pending.deadline:
            error = AuthenticationError(
                f"the peer at {pending.address!r} did not finish its handshake within {self._timeout} s"
            )
        elif isinstance(exc, (OSError, EOFError)):
            # A reset or a hang-up mid-handshake is a peer that failed, like a wrong key.
            error = AuthenticationError(f"the handshake with the peer at {pending.address!r} failed: {exc}")
        else:
            return exc
        error.__cause__ = exc
        return error

    def _cut_off_late(self) -> None:
        now = time.monotonic()
        with self._lock:
            late = [p for p in self._pending.values() if p.deadline <= now]
            for pending in late:
                with contextlib.suppress(OSError):
                    pending.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Cut off every unfinished handshake and close the finished, unclaimed connections."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for pending in self._pending.values():
                with contextlib.suppress(OSError):
                    pending.sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(BlockingIOError):
                os.write(self._wake_w, b"\0")  # an accept() blocked in another thread returns
            os.close(self._wake_r)
            os.close(self._wake_w)
        while True:
            try:
                _, connection, _ = self._finished.get_nowait()
            except queue.Empty:
                break
            if connection is not None:
                connection.close()
