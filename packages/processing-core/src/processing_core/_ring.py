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
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from processing_core._errors import ProcessError
from processing_core._native import ffi, lib
from processing_core._reduction import assert_spawning, duplicate_for_child, inherited_fd

__all__ = ["DEFAULT_CAPACITY", "BrokenRingError", "Ring", "RingEmpty", "RingFull"]

T = TypeVar("T")

#: Data bytes of a ring when no size is given.  Only the pages actually written cost
#: memory; a message above half the capacity travels through the spill area instead.
DEFAULT_CAPACITY = 16 << 20
# Per-thread receive buffers start at this size and are kept for the next call up to
# the larger one (a bigger message gets a buffer of its own).
_INITIAL_SCRATCH = 64 << 10
_KEPT_SCRATCH = 16 << 20
_NS = 1_000_000_000
# Return codes of the native calls, grouped by what the wrapper does with them.
_NO_WAIT_LEFT = frozenset({-errno.ETIMEDOUT, -errno.EAGAIN})  # Empty / Full
_NOT_NOW = frozenset({-errno.EAGAIN, -errno.EINTR})  # try_put: buffer instead
_GO_ON = frozenset({0, -errno.EINTR})  # batches: put the rest
# put_many sends messages of this size or more one by one instead of joining them.
_COPY_LIMIT = 64 << 10
# At most this many messages per batch read.
_MAX_BATCH = 1 << 16
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


class RingEmpty(Exception):
    """No message arrived in time."""


class RingFull(Exception):
    """No room for the message(s) in time."""


class BrokenRingError(ProcessError):
    """The ring's shared state could not be repaired after a process died inside it."""


def _deadline(timeout: float | None) -> int:
    if timeout is None:
        return -1
    if timeout <= 0:
        return 0
    return int(lib.prc_monotonic_ns()) + int(timeout * _NS)


class _Scratch:
    """A receive buffer and out-parameters, so that a call allocates nothing.

    Each thread keeps one (see :func:`_scratch`).  ``busy`` is set while a message is
    decoded straight from the buffer, so a decoder that itself takes from a ring
    (on the same thread) gets a buffer of its own.
    """

    __slots__ = ("buf", "busy", "held", "lens", "payload", "ptr", "size", "u32", "u64", "view")

    def __init__(self, size: int = _INITIAL_SCRATCH) -> None:
        self.busy = False
        self.held = ffi.new("int[1]")
        self.payload = ffi.new("char *[1]")
        self.u64 = ffi.new("uint64_t[2]")
        self.u32 = ffi.new("uint32_t[1]")
        self.lens = ffi.new("uint64_t[]", 1024)
        self.buf = bytearray(size)
        self.ptr = ffi.from_buffer(self.buf)
        self.view = memoryview(self.buf)
        self.size = size


_local = threading.local()


def _scratch(needed: int = 0) -> _Scratch:
    """This thread's free receive buffer with room for ``needed`` bytes."""
    scratch: _Scratch | None = getattr(_local, "scratch", None)
    if scratch is None or scratch.busy or scratch.size < needed:
        size = max(needed, _INITIAL_SCRATCH if scratch is None else scratch.size * 2)
        fresh = _Scratch(size)
        if scratch is None or (not scratch.busy and size <= _KEPT_SCRATCH):
            _local.scratch = fresh
        return fresh
    return scratch


def _raise(rc: int, what: str) -> None:
    code = -rc
    if code == errno.EPIPE:
        raise BrokenRingError(
            f"the shared buffer of this {what} is broken: a process died while changing it "
            "and its state could not be repaired; create a new one"
        )
    if code == errno.EMSGSIZE:
        raise ValueError(f"message too large for this {what}")
    raise OSError(code, f"{what}: {os.strerror(code)}")


class Ring:
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

    def put_many(self, messages: Sequence[bytes], timeout: float | None = None, *, add_task: bool = False) -> int:
        """Put messages in order, as many per lock acquisition as fit; return how many went in.

        On a timeout, :class:`RingFull` is raised with ``args[0]`` the number put.
        """
        deadline = -1 if timeout is None else _deadline(timeout)
        done = 0
        total = len(messages)
        while done < total:
            if len(messages[done]) >= _COPY_LIMIT:
                # Joining large messages into one buffer would only add a copy.
                try:
                    self._put_deadline(messages[done], deadline, add_task)
                except RingFull:
                    raise RingFull(done) from None
                done += 1
                continue
            ends = []
            end = 0
            stop = done
            while stop < total and len(messages[stop]) < _COPY_LIMIT:
                end += len(messages[stop])
                ends.append(end)
                stop += 1
            try:
                self._put_packed(b"".join(messages[done:stop]), ends, deadline, add_task)
            except RingFull as full:
                raise RingFull(done + full.args[0]) from None
            done = stop
        return done

    def put_packed(
        self, data: Any, ends: Sequence[int], timeout: float | None = None, *, add_task: bool = False
    ) -> int:
        """Put the messages packed back to back in ``data``; message ``i`` ends at ``ends[i]``.

        Like :meth:`put_many` (messages above :attr:`inline_limit` go one by one
        through :meth:`put`); return how many went in.
        """
        return self._put_packed(data, ends, -1 if timeout is None else _deadline(timeout), add_task)

    def _put_packed(self, data: Any, ends: Sequence[int], deadline: int, add_task: bool) -> int:
        total = len(ends)
        if not total:
            return 0
        limit = self._limit
        pointer = data if isinstance(data, bytes) else ffi.from_buffer(data)
        c_ends = ffi.new("uint64_t[]", ends)
        done = ffi.new("uint32_t[1]")
        while done[0] < total:
            rc = lib.prc_ring_put_many(self._handle, pointer, c_ends, total, deadline, add_task, done)
            if rc in _GO_ON:
                continue
            if rc == -errno.EMSGSIZE:
                # Some message from done[0] on is too large for a batch: put the large ones
                # singly (through the spill area), then batch the rest again.
                i = done[0]
                begin = ends[i - 1] if i else 0
                if ends[i] - begin <= limit:
                    # the large one is later: batch up to it
                    j = i
                    while j < total and ends[j] - (ends[j - 1] if j else 0) <= limit:
                        j += 1
                    rc = lib.prc_ring_put_many(self._handle, pointer, c_ends, j, deadline, add_task, done)
                    if rc in _GO_ON:
                        continue
                else:
                    try:
                        self._put_deadline(memoryview(data)[begin : ends[i]], deadline, add_task)
                    except RingFull:
                        raise RingFull(i) from None
                    done[0] = i + 1
                    continue
            if rc in _NO_WAIT_LEFT:
                raise RingFull(int(done[0]))
            _raise(rc, "ring")
        return total

    def _put_deadline(self, data: Any, deadline: int, add_task: bool) -> None:
        if not isinstance(data, bytes):
            data = ffi.from_buffer(data)
        while True:
            rc = lib.prc_ring_put(self._handle, data, len(data), deadline, add_task)
            if rc == 0:
                return
            if rc == -errno.EINTR:
                continue
            if rc in _NO_WAIT_LEFT:
                raise RingFull
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
                return value  # type: ignore[no-any-return]
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

    def get_many(
        self,
        max_messages: int,
        timeout: float | None = None,
        decode: Callable[[memoryview], T] = bytes,  # type: ignore[assignment]
    ) -> list[T]:
        """Take between one and ``max_messages`` messages in one lock acquisition.

        Raises:
            RingEmpty: no message in time.
            BrokenRingError: the ring is broken.
        """
        scratch, _used, lengths = self._get_batch(max_messages, timeout)
        view = scratch.view
        result = []
        pos = 0
        scratch.busy = True
        try:
            for length in lengths:
                result.append(decode(view[pos : pos + length]))
                pos += length
        finally:
            scratch.busy = False
        return result

    def get_packed(self, max_messages: int, timeout: float | None = None) -> tuple[bytes | bytearray, list[int]]:
        """Take between one and ``max_messages`` messages: their bytes back to back, and their lengths.

        Raises:
            RingEmpty: no message in time.
            BrokenRingError: the ring is broken.
        """
        scratch, used, lengths = self._get_batch(max_messages, timeout)
        return scratch.buf[:used] if used < scratch.size else bytes(scratch.view), lengths

    def _get_batch(self, max_messages: int, timeout: float | None) -> tuple[_Scratch, int, list[int]]:
        if max_messages < 1:
            raise ValueError(f"max_messages must be at least 1, not {max_messages!r}")
        deadline = -1 if timeout is None else _deadline(timeout)
        scratch = _scratch()
        max_messages = min(max_messages, _MAX_BATCH)
        lens = scratch.lens
        if len(lens) < max_messages:
            lens = scratch.lens = ffi.new("uint64_t[]", max_messages)
        while True:
            rc = lib.prc_ring_get_many(
                self._handle, scratch.ptr, scratch.size, max_messages, deadline, scratch.u32, scratch.u64, lens
            )
            if rc == 0:
                n = scratch.u32[0]
                return scratch, int(scratch.u64[0]), ffi.unpack(lens, n)
            if rc == -errno.ENOBUFS:
                scratch = _scratch(int(scratch.u64[0]))
                if len(scratch.lens) < max_messages:
                    scratch.lens = ffi.new("uint64_t[]", max_messages)
                lens = scratch.lens
            elif rc == -errno.EINTR:
                continue
            elif rc in _NO_WAIT_LEFT:
                raise RingEmpty
            else:
                _raise(rc, "ring")

    # ---- tasks (JoinableQueue) ----

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
