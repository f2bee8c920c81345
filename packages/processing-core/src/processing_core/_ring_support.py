"""What the ring's wrappers share: limits, return codes, exceptions and receive buffers."""

from __future__ import annotations

import errno
import os
import threading
from typing import TypeVar

from processing_core._errors import ProcessError
from processing_core._native import ffi, lib

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
