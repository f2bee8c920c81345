"""A thin wrapper over the native shared-memory message ring (``native/ring*.c``).

A :class:`Ring` carries whole byte messages between any number of writing and reading
processes.  It knows nothing about pickling: the queues of ``processing_sync`` build on
it.  It lives in an unnamed memory file, so it can reach another process only through
inheritance: a forked child has it already; a spawn or forkserver child receives its
descriptor when the ring is pickled while that child is being started (see
:mod:`processing_core._reduction`).

Timeouts: ``None`` waits for ever, ``0`` (or less) does not wait, a positive number
waits that many seconds at most.  A wait interrupted by a signal lets Python run the
handler (so Ctrl-C raises ``KeyboardInterrupt``) and then goes on with the time left.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable, Sequence
from typing import Any

from processing_core._native import ffi, lib
from processing_core._reduction import assert_spawning, duplicate_for_child, inherited_fd
from processing_core._ring_batch import RingBatches
from processing_core._ring_support import (
    _NO_WAIT_LEFT,
    _NOT_NOW,
    DEFAULT_CAPACITY,
    BrokenRingError,
    RingEmpty,
    RingFull,
    T,
    _deadline,
    _local,
    _raise,
    _Scratch,
    _scratch,
)

__all__ = ["DEFAULT_CAPACITY", "BrokenRingError", "Ring", "RingEmpty", "RingFull"]

# Quick calls (GIL held, never waiting): they answer -EAGAIN whenever the ordinary
# call, with its waits and error paths, has to do the work.
_quick_put = lib.prc_quick_ring_try_put
_quick_get = lib.prc_quick_ring_try_get
_ENOBUFS = -errno.ENOBUFS
_E2BIG = -errno.E2BIG
_hold = lib.prc_ring_hold
_NOT_IN_PLACE = -errno.ENOMSG
_take_held = lib.prc_quick_ring_take_held
_release_held = lib.prc_quick_ring_release_held


class Ring(RingBatches):
    """A multi-producer, multi-consumer ring of byte messages in shared memory.

    Args:
        capacity: data bytes (rounded up to whole pages).  Messages larger than half of
            it still go through, by way of the ring's spill area.
        maxsize: at most this many messages at once (``0``: limited by bytes only).
    """

    __slots__ = ("__weakref__", "_handle", "_limit")

    def __init__(self, capacity: int = DEFAULT_CAPACITY, maxsize: int = 0) -> None:
        if capacity <= 0:
            raise ValueError(f"capacity must be positive, not {capacity!r}")
        if maxsize < 0:
            raise ValueError(f"maxsize must be >= 0, not {maxsize!r}")
        err = ffi.new("int *")
        handle = lib.prc_ring_create(capacity, maxsize, err)
        if handle == ffi.NULL:
            raise OSError(err[0], f"cannot create a ring of {capacity} bytes: {os.strerror(err[0])}")
        self._setup(handle)

    def _setup(self, handle: Any) -> None:
        self._handle = ffi.gc(handle, lib.prc_ring_free)
        self._limit = int(lib.prc_ring_inline_limit(handle))

    @classmethod
    def attach(cls, fd: int) -> Ring:
        """Map the ring whose memory file is ``fd``; the ring owns ``fd`` from then on."""
        err = ffi.new("int *")
        handle = lib.prc_ring_attach(fd, err)
        if handle == ffi.NULL:
            raise OSError(err[0], f"descriptor {fd} is not a ring: {os.strerror(err[0])}")
        ring = cls.__new__(cls)
        ring._setup(handle)
        return ring

    def __reduce__(self) -> tuple[Callable[[int], Ring], tuple[int]]:
        assert_spawning(self)
        return _rebuild_ring, (duplicate_for_child(self.fd),)

    # ---- facts ----

    @property
    def fd(self) -> int:
        """The descriptor of the ring's memory file in this process."""
        return int(lib.prc_ring_fd(self._handle))

    @property
    def capacity(self) -> int:
        """Data bytes of the ring."""
        return int(lib.prc_ring_capacity(self._handle))

    @property
    def maxsize(self) -> int:
        """The message limit (``0``: none)."""
        return int(lib.prc_ring_maxsize(self._handle))

    @property
    def inline_limit(self) -> int:
        """The largest message that is stored in the ring itself (and fits a batch)."""
        return self._limit

    def count(self) -> int:
        """The number of messages in the ring now."""
        return int(lib.prc_ring_count(self._handle))

    def unfinished(self) -> int:
        """The shared count of unfinished tasks (see :meth:`tasks_add`)."""
        return int(lib.prc_ring_unfinished(self._handle))

    @property
    def broken(self) -> bool:
        """Whether the ring was found damaged beyond repair."""
        return bool(lib.prc_ring_is_broken(self._handle))

    @property
    def recoveries(self) -> int:
        """How many times a process found the lock abandoned by a dead one and repaired it."""
        return int(lib.prc_ring_recoveries(self._handle))

    # ---- putting ----

    def put(self, data: bytes, timeout: float | None = None, *, add_task: bool = False) -> None:
        """Put one message (bytes or a contiguous buffer) of any size.

        Raises:
            RingFull: no room in time.
            BrokenRingError: the ring is broken.
        """
        if not isinstance(data, bytes):
            data = ffi.from_buffer(data)
        if not _quick_put(self._handle, data, len(data), add_task):
            return
        deadline = -1 if timeout is None else _deadline(timeout)
        while True:
            rc = lib.prc_ring_put(self._handle, data, len(data), deadline, add_task)
            if rc == 0:
                return
            if rc == -errno.EINTR:
                continue  # signal handlers ran at this bytecode boundary; go on
            if rc in _NO_WAIT_LEFT:
                raise RingFull
            _raise(rc, "ring")

    def try_put(self, data: bytes, add_task: bool = False) -> bool:
        """Put one message if that needs no waiting; return whether it was put."""
        if not isinstance(data, bytes):
            data = ffi.from_buffer(data)
        if not _quick_put(self._handle, data, len(data), add_task):
            return True
        rc = lib.prc_ring_put(self._handle, data, len(data), 0, add_task)
        if rc == 0:
            return True
        if rc in _NOT_NOW:
            return False
        _raise(rc, "ring")
        return False  # pragma: no cover - _raise always raises

    def put_pieces(self, pieces: Sequence[Any], timeout: float | None = None, *, add_task: bool = False) -> None:
        """Put one message made of ``pieces`` (bytes-like) one after the other, without joining them.

        Raises:
            RingFull: no room in time.
            BrokenRingError: the ring is broken.
        """
        rc = self._put_pieces(pieces, -1 if timeout is None else _deadline(timeout), add_task)
        if rc in _NO_WAIT_LEFT:
            raise RingFull
        if rc:
            _raise(rc, "ring")

    def try_put_pieces(self, pieces: Sequence[Any], add_task: bool = False) -> bool:
        """Like :meth:`put_pieces` if that needs no waiting; return whether it was put."""
        rc = self._put_pieces(pieces, 0, add_task)
        if rc in _NOT_NOW:
            return False
        if rc:
            _raise(rc, "ring")
        return True

    def _put_pieces(self, pieces: Sequence[Any], deadline: int, add_task: bool) -> int:
        keep = [ffi.from_buffer(piece) for piece in pieces]  # alive until the call returns
        lens = ffi.new("uint64_t[]", [len(piece) for piece in keep])
        bufs = ffi.new("char *[]", keep)
        while True:
            rc = int(lib.prc_ring_putv(self._handle, bufs, lens, len(keep), deadline, add_task))
            if rc != -errno.EINTR or deadline == 0:
                return rc

    def wait_room(self, length: int, timeout: float | None = None) -> bool:
        """Wait until a message of ``length`` bytes would fit; return ``False`` on a timeout."""
        deadline = -1 if timeout is None else _deadline(timeout)
        while True:
            rc = lib.prc_ring_wait_room(self._handle, length, deadline)
            if rc == 0:
                return True
            if rc in _NO_WAIT_LEFT:
                return False
            if rc != -errno.EINTR:
                _raise(rc, "ring")

    # ---- getting ----

    def get(
        self,
        timeout: float | None = None,
        decode: Callable[[memoryview], T] = bytes,  # type: ignore[assignment]
        read_in_place: Callable[[Any, int], Any] | None = None,
    ) -> T:
        """Take one message and return ``decode(view of its bytes)``.

        The view is valid only during ``decode`` (the default copies it to ``bytes``).

        ``read_in_place(pointer, length)``, if given, is offered a large message where
        it lies in the ring, with the ring locked, to save copying it twice: it returns
        the value (the message is then taken) or ``NotImplemented`` (then ``decode``
        gets it as usual).  It must only copy or parse bytes: no code that could wait,
        use this ring or run for long.

        Raises:
            RingEmpty: no message in time.
            BrokenRingError: the ring is broken.
        """
        scratch = getattr(_local, "scratch", None)
        if scratch is None or scratch.busy:
            scratch = _scratch()
        out = scratch.u64
        rc = _quick_get(self._handle, scratch.ptr, scratch.size, out)
        if not rc:
            scratch.busy = True
            try:
                return decode(scratch.view[: out[0]])
            finally:
                scratch.busy = False
        deadline = -1 if timeout is None else _deadline(timeout)
        if rc == _E2BIG and read_in_place is not None:
            value = self._read_in_place(scratch, read_in_place, deadline)
            if value is not NotImplemented:
                return value
        while True:
            rc = lib.prc_ring_get(self._handle, scratch.ptr, scratch.size, deadline, out)
            if rc == 0:
                scratch.busy = True
                try:
                    return decode(scratch.view[: out[0]])
                finally:
                    scratch.busy = False
            if rc == -errno.ENOBUFS:
                scratch = _scratch(int(out[0]))
                out = scratch.u64
            elif rc == -errno.EINTR:
                continue
            elif rc in _NO_WAIT_LEFT:
                raise RingEmpty
            else:
                _raise(rc, "ring")

    def _read_in_place(self, scratch: _Scratch, read: Callable[[Any, int], Any], deadline: int) -> Any:
        held = scratch.held
        # The native calls record in ``held`` whether this thread holds the ring's lock,
        # so the lock is released on every way out, a KeyboardInterrupt included.
        try:
            while True:
                rc = _hold(self._handle, deadline, held, scratch.u64, scratch.payload)
                if rc == 0:
                    break
                if rc == _NOT_IN_PLACE:
                    return NotImplemented
                if rc in _NO_WAIT_LEFT:
                    raise RingEmpty
                if rc != -errno.EINTR:
                    _raise(rc, "ring")
            value = read(scratch.payload[0], int(scratch.u64[0]))
            if value is not NotImplemented:
                _take_held(self._handle, held)
            return value
        finally:
            if held[0]:
                _release_held(self._handle, held)

    def tasks_add(self, n: int = 1) -> None:
        """Count ``n`` more unfinished tasks."""
        rc = lib.prc_ring_tasks_add(self._handle, n)
        if rc:
            _raise(rc, "ring")

    def task_done(self, n: int = 1) -> None:
        """Count ``n`` tasks as finished.

        Raises:
            ValueError: more tasks finished than were counted.
        """
        rc = lib.prc_ring_task_done(self._handle, n)
        if rc == -errno.ERANGE:
            raise ValueError("task_done() called more times than there were items put")
        if rc:
            _raise(rc, "ring")

    def join(self, timeout: float | None = None) -> bool:
        """Wait until the unfinished-task count is zero; return ``False`` on a timeout."""
        deadline = _deadline(timeout)
        while True:
            rc = lib.prc_ring_join(self._handle, deadline)
            if rc == 0:
                return True
            if rc == -errno.EINTR:
                continue
            if rc in _NO_WAIT_LEFT:
                return False
            _raise(rc, "ring")


def _rebuild_ring(token: int) -> Ring:
    return Ring.attach(inherited_fd(token))
