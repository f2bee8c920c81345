"""What a connection learns from the system once: CPUs to spin on, pipe and socket buffer sizes."""

from __future__ import annotations

import os
import socket

from processing_core._native import lib

# Before blocking, a receive polls this long for a peer that answers quickly: waking
# an idle CPU costs tens of microseconds.  Only with more than one CPU to run on.
SPIN_NS = 50_000
# Socket buffers of this size let a large message cross with fewer wake-ups.
SOCKET_BUFFER = 1 << 20
_pipe_max_size: list[int] = []  # read once


def usable_cpus() -> int:
    """The CPUs this process may run on now (its affinity mask where there is one)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - no sched_getaffinity (macOS)
        return os.cpu_count() or 1


def spin_ns() -> int:
    """How long a receive may poll before it blocks: 0 when this process has one CPU."""
    return SPIN_NS if usable_cpus() > 1 else 0


def pipe_limit() -> int:
    """The largest pipe buffer an unprivileged process may ask for (``/proc/sys/fs/pipe-max-size``)."""
    if not _pipe_max_size:
        try:
            with open("/proc/sys/fs/pipe-max-size") as limit:
                _pipe_max_size.append(int(limit.read()))
        except (OSError, ValueError):
            _pipe_max_size.append(1 << 20)
    return _pipe_max_size[0]


def grow_pipe(fd: int, size: int) -> int:
    """Grow the pipe behind ``fd`` to ``size`` bytes (at most :func:`pipe_limit`, never shrinking).

    Returns the pipe's capacity afterwards, or a negative errno when it could not be read
    or grown (``EPERM`` over the user's pipe quota, ``EOPNOTSUPP`` where pipes have a fixed size).
    """
    return int(lib.prc_pipe_grow(fd, size, pipe_limit()))


def enlarge_socket_buffers(sock: socket.socket) -> None:
    """Grow a socket's send and receive buffers to ``SOCKET_BUFFER`` (never shrink them)."""
    for option in (socket.SO_SNDBUF, socket.SO_RCVBUF):
        try:
            if sock.getsockopt(socket.SOL_SOCKET, option) < SOCKET_BUFFER:
                sock.setsockopt(socket.SOL_SOCKET, option, SOCKET_BUFFER)
        except OSError:  # pragma: no cover - a platform without the option
            pass
