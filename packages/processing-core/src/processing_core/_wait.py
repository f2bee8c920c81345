"""``wait()``: block until any of several connections, sockets or sentinels is ready."""

from __future__ import annotations

import select
import time
from collections.abc import Iterable
from typing import Any

from processing_core._connection import Connection

__all__ = ["wait"]

_READY = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR | select.POLLNVAL


def _fd_of(obj: Any) -> int:
    if isinstance(obj, int):
        return obj
    try:
        return int(obj.fileno())
    except AttributeError:
        raise TypeError(f"cannot wait on {obj!r}: it is neither a file descriptor nor has fileno()") from None


def wait(object_list: Iterable[Any], timeout: float | None = None) -> list[Any]:
    """Wait until at least one object of ``object_list`` is ready; return the ready ones.

    An object is a ``Connection`` (ready when a message or the end of the stream can
    be read), a socket, a process sentinel, or anything with ``fileno()``, or a raw
    file descriptor (an int).  A connection holding read-ahead bytes in memory is
    ready at once, although its descriptor may have nothing left to read.

    Args:
        object_list: the objects to watch.
        timeout: the longest wait in seconds; ``None`` waits for ever.

    Returns:
        The ready objects, in the order given; an empty list after a timeout.
    """
    objects = list(object_list)
    # Read-ahead bytes do not show on the descriptor: such a connection is ready now.
    buffered = {id(obj) for obj in objects if isinstance(obj, Connection) and obj._buffered()}
    if buffered:
        timeout = 0.0
    by_fd: dict[int, list[Any]] = {}
    poller = select.poll()
    for obj in objects:
        fd = _fd_of(obj)
        if fd not in by_fd:
            by_fd[fd] = []
            poller.register(fd, select.POLLIN | select.POLLPRI)
        by_fd[fd].append(obj)
    deadline = None if timeout is None else time.monotonic() + max(0.0, timeout)
    while True:
        wait_ms = None if deadline is None else max(0, int((deadline - time.monotonic()) * 1000 + 0.999))
        events = poller.poll(wait_ms)  # retried after signals by Python itself (PEP 475)
        ready_fds = {fd for fd, event in events if event & _READY}
        if ready_fds or buffered:
            return [obj for obj in objects if id(obj) in buffered or _fd_of(obj) in ready_fds]
        if deadline is not None and time.monotonic() >= deadline:
            return []
