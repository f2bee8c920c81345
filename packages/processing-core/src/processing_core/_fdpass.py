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
    "reduce_connection",
    "send_handle",
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
    """Reduce a ``Connection`` for pickling (to a descriptor the receiver can claim)."""
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
