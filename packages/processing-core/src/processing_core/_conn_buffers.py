"""Buffers for large received messages: a fresh ``bytes`` filled in place, or the last one again.

A message of many MiB lands in memory that the allocator maps afresh for it (glibc
maps anything over 32 MiB on its own and unmaps it when freed), so every such message
paid for the kernel zeroing and faulting in all its pages, which cost as much as the
copy out of the pipe and varied with the supply of huge pages.  A connection therefore
keeps the ``bytes`` of its last large message.  When the next message has the same
length and nothing references that object any more but the connection (the caller
dropped it), the message is read into it again: its pages are mapped and warm.

Nobody can observe the reuse: an object that only the connection references is
reachable by nobody else (every holder of a buffer or a view counts as a reference).
Its cached hash is forgotten before it is filled.  This needs CPython with a GIL (a
reference count that means what it says, and the object layout checked at import);
elsewhere every large message gets a fresh object, as before.

The first large message of a connection (or one of a new length) still lands in fresh
memory.  There a second thread faults the pages in just ahead of the copy
(:class:`Prefault`), on a machine with a CPU to spare: the faults and the copy then run
side by side, and the first 64 MiB message costs about what the later ones do.
"""

from __future__ import annotations

import platform
import sys
import threading
from typing import Any

from processing_core._conn_tuning import usable_cpus
from processing_core._native import ffi, lib

# Messages this large get a buffer of their own (read straight into it), faulted in by
# a second thread (or else asked to be backed by huge pages), and kept for the next
# message of the same length.
REUSE_AT = 8 << 20

_from_buffer = ffi.from_buffer
_cast = ffi.cast
_getrefcount = sys.getrefcount

# CPython lets a fresh ``bytes(n)`` (which nothing else references yet) be filled in
# place, so a large message lands in the object that recv_bytes() returns, with no
# copy.  Elsewhere a bytearray is filled and copied once.
FILL_BYTES_IN_PLACE = platform.python_implementation() == "CPython"


class _Holder:
    """Stands for a connection in the reference count check (an attribute holds the spare)."""

    __slots__ = ("_spare",)

    def __init__(self) -> None:
        self._spare: bytes | None = None


def _unshared_count() -> int:
    """The reference count that take_spare() sees for a spare nobody else holds.

    Measured rather than assumed: interpreters differ in the references that locals and
    call arguments hold.  Same pattern as take_spare(): an attribute, a local, the call.
    """
    holder = _Holder()
    holder._spare = bytes(64)
    spare = holder._spare
    return _getrefcount(spare)


def _hash_slot_works() -> bool:
    """Whether the word before a bytes object's data is its cached hash (-1: not computed)."""
    probe = bytes(64)
    slot = _cast("ssize_t *", _from_buffer(probe)) - 1
    if slot[0] != -1:
        return False
    value = hash(probe)
    if slot[0] != value:
        return False
    slot[0] = -1  # forgotten: the next hash() computes it again
    return hash(probe) == value and slot[0] == value


def _reuse_possible() -> bool:
    if not FILL_BYTES_IN_PLACE:
        return False
    gil = getattr(sys, "_is_gil_enabled", None)
    if gil is not None and not gil():
        return False  # free-threaded: another thread may take a reference at any moment
    return _hash_slot_works()


def _reuse_checked() -> bool:
    """Whether take_spare() takes an unshared spare and leaves a shared one (or reuse is off)."""
    holder = _Holder()
    holder._spare = bytes(64)
    if take_spare(holder, 64) is None:
        return False
    holder._spare = kept = bytes(64)  # noqa: F841 - the second reference under test
    return take_spare(holder, 64) is None


REUSE = False  # until the checks at the end of the module decided
_UNSHARED = -1


class Prefault:
    """A thread that faults in a fresh target's pages while the message is copied into it.

    It changes page tables only, never the contents (see ``prc_prefault_range``), and it
    holds the target's address object, so the memory stays alive until it is done.
    :meth:`finish` stops it after the step under way (at most 2 MiB) and waits for it.
    """

    __slots__ = ("_stop", "_thread")

    def __init__(self, pointer: Any, length: int) -> None:
        self._stop = ffi.new("int *")
        self._thread = threading.Thread(
            target=lib.prc_prefault_range, args=(pointer, length, self._stop), name="processing-prefault", daemon=True
        )
        self._thread.start()

    def finish(self) -> None:
        """Stop faulting pages in and wait for the thread (the receive is over)."""
        self._stop[0] = 1
        self._thread.join()


_prefault_supported: list[bool] = []  # decided at the first large message
_PROBE_BYTES = 2 * 4096  # holds at least one whole page, wherever the target starts


def _populate_works(pointer: Any) -> bool:
    """Fault in the first whole page at ``pointer``: False where the kernel refuses (before 5.14).

    ``pointer`` must have at least ``_PROBE_BYTES`` writable bytes behind it.
    """
    return lib.prc_prefault_range(pointer, _PROBE_BYTES, ffi.new("int *")) == 0


def _worth_prefaulting(pointer: Any) -> bool:
    """Whether a second thread can fault pages in here: MADV_POPULATE_WRITE, and a spare CPU."""
    if usable_cpus() < 2:
        return False  # the thread would only take turns with the copy
    if not _prefault_supported:
        _prefault_supported.append(_populate_works(pointer))
    return _prefault_supported[0]


def new_target(length: int) -> tuple[Any, Any, Prefault | None]:
    """Return a fresh object of ``length`` bytes to receive a message into, its address,
    and, for a large message, the :class:`Prefault` faulting its pages in (or None).

    The caller must :meth:`Prefault.finish` it when the receive ends, however it ends.
    """
    if FILL_BYTES_IN_PLACE and length > 1:
        target: Any = bytes(length)
        pointer = _from_buffer(target)
    else:
        target = bytearray(length)
        pointer = _from_buffer(target, require_writable=True)
    prefault = None
    if length >= REUSE_AT:
        if _worth_prefaulting(pointer):
            prefault = Prefault(pointer, length)
        else:
            lib.prc_quick_advise_huge(pointer, length)  # fresh memory: fault it in 2 MiB pages
    return target, pointer, prefault


def take_spare(holder: Any, length: int) -> tuple[Any, Any] | None:
    """Take the holder's ``_spare`` for a message of ``length`` bytes, if nobody else holds it.

    The spare leaves the holder either way (a spare still held by the caller of an
    earlier receive is the caller's alone from now on).
    """
    spare = holder._spare
    if spare is None:
        return None
    holder._spare = None
    if not REUSE or len(spare) != length or _getrefcount(spare) != _UNSHARED - 1:
        return None
    pointer = _from_buffer(spare)
    _cast("ssize_t *", pointer)[-1] = -1  # its old content's hash, if computed
    return spare, pointer


# Whether large buffers are reused at all (decided once, at import).
REUSE = _reuse_possible()
_UNSHARED = _unshared_count() if REUSE else -1
REUSE = REUSE and _reuse_checked()
