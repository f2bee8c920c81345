"""Lending file descriptors to other processes, for pickled connections and sockets.

When a descriptor is pickled outside a child's start-up, this process keeps a
duplicate under a one-time key and serves it from a background thread: a
``Listener`` on a private Unix socket, authenticated with the process's authkey.  The
unpickling process connects, sends the key, and receives the descriptor through
``SCM_RIGHTS``.  Each duplicate is handed out once and then closed here.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import struct
import threading
from typing import Any

from processing_core._auth import default_authkey
from processing_core._errors import AuthenticationError
from processing_core._fdpass import recv_handle, send_handle
from processing_core._listener import Client, Listener

__all__ = ["fetch_fd", "share_fd", "stop"]

_KEY = struct.Struct("!Q")


class _ResourceSharer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._fds: dict[int, int] = {}
        self._keys = itertools.count(1)
        self._listener: Listener | None = None
        self._thread: threading.Thread | None = None

    def share(self, fd: int) -> tuple[str, int]:
        duplicate = os.dup(fd)
        with self._lock:
            if self._listener is None:
                self._start()
            assert self._listener is not None
            key = next(self._keys)
            self._fds[key] = duplicate
            return self._listener.address, key

    def _start(self) -> None:
        self._listener = Listener(authkey=default_authkey(), backlog=128, max_message_size=_KEY.size)
        self._thread = threading.Thread(
            target=self._serve, args=(self._listener,), name="processing-resource-sharer", daemon=True
        )
        self._thread.start()

    def _serve(self, listener: Listener) -> None:
        while True:
            try:
                conn = listener.accept()
            except (AuthenticationError, EOFError, ConnectionError):
                continue  # a peer that failed: it gets nothing
            except OSError:
                return  # the listener was closed
            with conn:
                try:
                    (key,) = _KEY.unpack(conn.recv_bytes())
                    with self._lock:
                        fd = self._fds.pop(key, None)
                    if fd is None:
                        conn.send_bytes(b"unknown key")
                        continue
                    conn.send_bytes(b"ok")
                    try:
                        send_handle(conn, fd)
                    finally:
                        os.close(fd)
                except (OSError, EOFError, struct.error):
                    continue

    def stop(self) -> None:
        """Stop serving and close every descriptor still held."""
        with self._lock:
            listener, self._listener = self._listener, None
            thread, self._thread = self._thread, None
            fds, self._fds = self._fds, {}
        if listener is not None:
            # Wake the thread blocked in accept() by connecting, then close.
            address = listener.address
            listener.close()
            with contextlib.suppress(OSError):
                Client(address).close()
        if thread is not None and thread is not threading.current_thread():
            thread.join(5)
        for fd in fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)

    def forget_after_fork(self) -> None:
        """In a forked child: the thread is gone; drop the parent's state."""
        for fd in self._fds.values():
            with contextlib.suppress(OSError):
                os.close(fd)
        self.__init__()  # type: ignore[misc]


_sharer = _ResourceSharer()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_sharer.forget_after_fork)


def share_fd(fd: int) -> tuple[str, int]:
    """Lend a duplicate of ``fd``; return ``(address, key)`` for :func:`fetch_fd`."""
    return _sharer.share(fd)


def fetch_fd(address: Any, key: int) -> int:
    """Fetch the descriptor lent under ``key`` by the process listening at ``address``."""
    with Client(address, authkey=default_authkey()) as conn:
        conn.send_bytes(_KEY.pack(key))
        answer = conn.recv_bytes(64)
        if answer != b"ok":
            raise RuntimeError(
                f"the resource sharer at {address!r} refused key {key}: {answer.decode(errors='replace')}"
            )
        return recv_handle(conn)


def stop() -> None:
    """Stop this process's resource sharer, if it runs (it restarts on demand)."""
    _sharer.stop()
