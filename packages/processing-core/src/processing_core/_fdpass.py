"""Passing file descriptors between processes, and pickling connections and sockets.

``send_handle``/``recv_handle`` move a descriptor over a Unix-socket connection with
``SCM_RIGHTS``.  :class:`DupFd` is what a reducer stores for a descriptor: while a
child is being started the descriptor is handed to it directly (through
``processing_core._reduction.duplicate_for_child``); at any other time it is lent to
this process's resource sharer (``_resource_sharer``), from which the unpickling
process fetches it over an authenticated Unix socket.  So a ``Connection`` sent over
another ``Connection`` arrives as a working connection.
"""

from __future__ import annotations

import array
import os
import socket
from typing import Any

from processing_core._connection import Connection
from processing_core._reduction import ForkingPickler, duplicate_for_child, get_spawning_popen, inherited_fd

__all__ = [
    "DupFd",
    "allow_connection_pickling",
    "connections_are_picklable",
    "recv_handle",
    "recvfds",
    "reduce_connection",
    "send_handle",
    "sendfds",
]

connections_are_picklable = hasattr(socket, "SCM_RIGHTS")
_FD_SIZE = array.array("i").itemsize


def _socket_of(conn: Any) -> socket.socket:
    fd = conn if isinstance(conn, int) else conn.fileno()
    return socket.socket(fileno=fd)


def send_handle(conn: Any, handle: int, destination_pid: int | None = None) -> None:
    """Send the file descriptor ``handle`` over ``conn`` (a Unix-socket connection).

    ``destination_pid`` is accepted for compatibility; Unix needs no target process.
    """
    sock = _socket_of(conn)
    try:
        sock.sendmsg([b"F"], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [handle]))])
    finally:
        sock.detach()


def recv_handle(conn: Any) -> int:
    """Receive a file descriptor sent with :func:`send_handle`; return it (close-on-exec)."""
    if isinstance(conn, Connection):
        conn._check_shareable()  # bytes read ahead come before the descriptor in the stream
    sock = _socket_of(conn)
    try:
        flags = getattr(socket, "MSG_CMSG_CLOEXEC", 0)
        message, ancillary, _flags, _addr = sock.recvmsg(1, socket.CMSG_SPACE(_FD_SIZE), flags)
    finally:
        sock.detach()
    if not message and not ancillary:
        raise EOFError("the peer closed the connection instead of sending a file descriptor")
    fds = array.array("i")
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % _FD_SIZE])
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise RuntimeError(f"expected one file descriptor, received {len(fds)} (message {message!r})")
    return fds[0]


def sendfds(sock: Any, fds: Any) -> None:
    """Send the file descriptors ``fds`` in one message over a Unix socket (``SCM_RIGHTS``).

    Args:
        sock: a connected ``AF_UNIX`` socket, or anything with ``fileno()`` (a ``Connection``).
        fds: an iterable of ints; the receiver gets duplicates, these stay open here.

    Raises:
        ValueError: if ``fds`` is empty or holds something other than ints.
    """
    try:
        payload = array.array("i", fds)
    except TypeError as exc:
        raise ValueError(f"sendfds() needs a sequence of int file descriptors: {exc}") from None
    if not payload:
        raise ValueError("sendfds() needs at least one file descriptor")
    marker = len(payload).to_bytes(4, "little")  # lets the receiver check the count arrived whole
    own = isinstance(sock, socket.socket)
    carrier = sock if own else _socket_of(sock)
    try:
        carrier.sendmsg([marker], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, payload)])
    finally:
        if not own:
            carrier.detach()


def recvfds(sock: Any, size: int) -> list[int]:
    """Receive up to ``size`` descriptors sent with :func:`sendfds`; return them as a list of ints.

    The descriptors are new in this process, close-on-exec, and owned by the caller.

    Args:
        sock: a connected ``AF_UNIX`` socket, or anything with ``fileno()``.
        size: how many descriptors the sender sent.

    Raises:
        ValueError: if ``size`` is not a positive int.
        EOFError: if the peer closed the socket instead of sending.
        RuntimeError: if fewer than the ``size`` (or than the sent number of) descriptors
            arrived; those that did arrive are closed first.
    """
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise ValueError(f"recvfds() size must be a positive int, not {size!r}")
    own = isinstance(sock, socket.socket)
    carrier = sock if own else _socket_of(sock)
    try:
        flags = getattr(socket, "MSG_CMSG_CLOEXEC", 0)
        message, ancillary, msg_flags, _addr = carrier.recvmsg(4, socket.CMSG_SPACE(size * _FD_SIZE), flags)
    finally:
        if not own:
            carrier.detach()
    if not message and not ancillary:
        raise EOFError("the peer closed the socket instead of sending file descriptors")
    fds = array.array("i")
    for level, kind, data in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(data[: len(data) - len(data) % _FD_SIZE])
    sent = int.from_bytes(message, "little") if len(message) == 4 else None
    truncated = bool(msg_flags & getattr(socket, "MSG_CTRUNC", 0))
    if len(fds) < size or sent is None or sent != len(fds) or truncated:
        for fd in fds:
            os.close(fd)
        detail = f"the sender sent {sent}" if sent is not None else f"an unexpected message {message!r}"
        raise RuntimeError(
            f"recvfds() expected {size} file descriptor(s) but received {len(fds)} ({detail}"
            f"{', the control data was truncated' if truncated else ''})"
        )
    return list(fds)


class DupFd:
    """A picklable stand-in for a file descriptor; ``detach()`` gives it in the receiver."""

    def __init__(self, fd: int) -> None:
        if get_spawning_popen() is not None:
            self._token: int | None = duplicate_for_child(fd)
            self._shared: tuple[str, int] | None = None
        else:
            from processing_core._resource_sharer import share_fd

            self._token = None
            self._shared = share_fd(fd)

    def detach(self) -> int:
        """Return the descriptor in this process (a new one, owned by the caller)."""
        if self._token is not None:
            return inherited_fd(self._token)
        from processing_core._resource_sharer import fetch_fd

        assert self._shared is not None
        return fetch_fd(*self._shared)


def reduce_connection(conn: Connection) -> tuple[Any, ...]:
    """Reduce a ``Connection`` for pickling (to a descriptor the receiver can claim).

    Raises:
        RuntimeError: the connection holds received bytes in memory (read ahead, or part
            of a message): they cannot travel with the descriptor, and the copy would
            start in the middle of the stream.
    """
    conn._check_shareable()
    return _rebuild_connection, (DupFd(conn.fileno()), conn.readable, conn.writable, conn.max_message_size)


def _rebuild_connection(dup: DupFd, readable: bool, writable: bool, max_message_size: int | None) -> Connection:
    return Connection(dup.detach(), readable, writable, max_message_size=max_message_size)


def _reduce_socket(sock: socket.socket) -> tuple[Any, ...]:
    return _rebuild_socket, (DupFd(sock.fileno()), sock.family, sock.type, sock.proto)


def _rebuild_socket(dup: DupFd, family: int, kind: int, proto: int) -> socket.socket:
    return socket.socket(family, kind, proto, fileno=dup.detach())


ForkingPickler.register(socket.socket, _reduce_socket)


def allow_connection_pickling() -> None:
    """Kept for compatibility: connections and sockets are always picklable here."""
