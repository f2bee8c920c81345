"""Length-prefixed frames over pipes between a pool and its workers.

Each frame is an 8-byte little-endian length followed by that many bytes.  The
parent reads and writes without blocking (its supervisor must never stall on one
worker); a worker blocks.  A frame cut short by a worker's death is dropped.
"""

from __future__ import annotations

import os
import struct
from typing import Any

from processing_core._conn_tuning import grow_pipe, pipe_limit
from processing_core._reduction import duplicate_for_child, get_spawning_popen, inherited_fd

_HEADER = struct.Struct("<Q")
HEADER_SIZE = _HEADER.size
READ_SIZE = 1 << 20
PIPE_SIZE = 1 << 16  # what Linux gives a new pipe


def encode(body: bytes) -> bytes:
    """Return ``body`` as one frame."""
    return _HEADER.pack(len(body)) + body


class FrameReader:
    """Reads a pipe into a buffer of its own and reassembles the frames it delivers.

    The buffer is kept from one read to the next: ``os.read(fd, n)`` would allocate ``n``
    bytes every time (for a large ``n`` a fresh mapping, faulted in, shrunk and unmapped:
    three system calls beside the read and, in a threaded parent, a TLB shoot-down).  It starts
    at a new pipe's size, since one read never returns more than the pipe holds, and
    doubles, up to :data:`READ_SIZE`, whenever a read fills it.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()  # the start of a frame not complete yet
        self._scratch = bytearray(PIPE_SIZE)
        self._view = memoryview(self._scratch)

    def read_from(self, fd: int, frames: list[bytes]) -> tuple[int, bool]:
        """One ``read()`` from ``fd``; add the frames now complete to ``frames``.

        Returns the number of bytes read (0 at end of file) and whether they filled the
        buffer, in which case the pipe may hold more.
        """
        view = self._view
        size = len(view)
        count = os.readv(fd, (view,))
        if count:
            self.feed(view[:count], frames)
            if count == size and size < READ_SIZE:
                self._scratch = bytearray(2 * size)
                self._view = memoryview(self._scratch)
        return count, count == size

    def feed(self, data: bytes | memoryview, frames: list[bytes]) -> None:
        """Add ``data`` as if read from the pipe; add the frames now complete to ``frames``."""
        buffer = self._buffer
        if buffer:
            # A frame begun earlier: the rest joins it (and only what is used is cut off,
            # so a large frame arriving in many reads is not copied again each time).
            buffer += data
            used = _split(buffer, frames)
            if used:
                del buffer[:used]
        else:
            used = _split(data, frames)
            if used < len(data):
                buffer += data[used:]


def _split(data: bytes | bytearray | memoryview, frames: list[bytes]) -> int:
    """Copy out the whole frames at the start of ``data``; return where the rest begins."""
    pos = 0
    end = len(data)
    with memoryview(data) as view:
        while end - pos >= HEADER_SIZE:
            (length,) = _HEADER.unpack_from(view, pos)
            stop = pos + HEADER_SIZE + length
            if stop > end:
                break
            frames.append(bytes(view[pos + HEADER_SIZE : stop]))
            pos = stop
    return pos


def fit_pipe(fd: int, frame_size: int, capacity: int) -> int:
    """Grow the pipe behind ``fd`` so that a frame of ``frame_size`` bytes fits; return its capacity.

    A frame larger than the pipe crosses in pieces, each a wake-up of both sides (and the
    writer blocks, or waits for the descriptor to be writable, in between).  Pipes grow
    only when a frame needs it, to the next power of two up to the system's limit: pipe
    buffers count against the user's quota (``/proc/sys/fs/pipe-user-pages-soft``), and a
    pool of small tasks keeps the default size.
    """
    if frame_size <= capacity or capacity >= pipe_limit():
        return capacity
    # Negative when it cannot grow (over the user's quota): the frame crosses in pieces.
    return max(capacity, grow_pipe(fd, 1 << (frame_size - 1).bit_length()))


def write_all(fd: int, data: bytes) -> None:
    """Write all of ``data`` to a blocking descriptor."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_frame(fd: int, reader: FrameReader, pending: list[bytes]) -> bytes | None:
    """Return the next frame from a blocking descriptor, or ``None`` at end of file."""
    while not pending:
        count, _full = reader.read_from(fd, pending)
        if not count:
            return None
    return pending.pop(0)


def drain_nonblocking(fd: int, reader: FrameReader) -> tuple[list[bytes], bool]:
    """Read what a non-blocking descriptor holds; return the frames and whether it hit EOF."""
    frames: list[bytes] = []
    while True:
        try:
            count, full = reader.read_from(fd, frames)
        except BlockingIOError:
            return frames, False
        except OSError:  # (EINTR never gets here: os.readv retries it, PEP 475)
            return frames, True
        if not count:
            return frames, True
        if not full:
            return frames, False


def _rebuild_fd(token: int) -> InheritedFd:
    return InheritedFd(inherited_fd(token))


class InheritedFd:
    """A descriptor handed to a worker when it starts (by fork, spawn or forkserver)."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __reduce__(self) -> tuple[Any, ...]:
        if get_spawning_popen() is None:
            raise RuntimeError("a pool's pipe can only be handed to a worker while the worker starts")
        return (_rebuild_fd, (duplicate_for_child(self.fd),))
