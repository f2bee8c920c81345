"""Process-shared semaphores: the ``SemLock`` that locks, semaphores and queues stand on.

A ``SemLock`` is a 64-byte slot in a shared memfd arena (see :mod:`._arena`), driven by
the futex code in ``native/semaphore.c``.  Many locks share one arena, so creating a
lock costs no system call and leaves nothing named behind: the arena disappears with
the last process that maps it, whatever way that process ends.

Slots are recycled when their ``SemLock`` is garbage-collected, but only when no other
process can hold a reference to the slot: never for a lock that was pickled for a
child, or that existed when this process forked (the child's copy might still use
it).  Such slots are freed with their arena instead.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from processing_core._arena import Arena
from processing_core._errors import ProcessError
from processing_core._fast_types import FastSemLock
from processing_core._native import ffi, lib
from processing_core._reduction import assert_spawning

__all__ = ["RECURSIVE_MUTEX", "SEMAPHORE", "SEM_VALUE_MAX", "OwnerDiedError", "SemLock"]

RECURSIVE_MUTEX = 0
SEMAPHORE = 1
SEM_VALUE_MAX = 2**31 - 1

_OK, _WOULD_BLOCK, _INTERRUPTED, _OWNER_DIED, _TOO_MANY, _NOT_OWNER, _BUSY = range(7)
_SLOT_SIZE = int(lib.prc_sem_slot_size())
_FOREVER = 1e9  # seconds
_ARENA_SIZE = 1 << 20  # 16384 slots; pages are only backed once touched

# Bound once: the uncontended path is one cffi call and no attribute lookups on lib.
# _enter and _release are quick calls (native/quick_calls.h): they keep the GIL, which
# costs less than dropping and retaking it, because they never wait.  _enter returns
# _BUSY instead of waiting; the caller then waits in _acquire_slow, GIL released.
# (``with lock:`` and ``release()`` skip even that: they are C methods of FastSemLock.)
_acquire = lib.prc_sem_acquire
_release = lib.prc_quick_sem_release
_enter = lib.prc_quick_sem_try_enter
_monotonic_ns = time.monotonic_ns  # CLOCK_MONOTONIC, the clock the C deadline is on


class OwnerDiedError(ProcessError):
    """The holder of a lock died (or its thread ended) without releasing it.

    Raised by an acquire that would otherwise wait for ever.  The lock is left as
    it was: whatever it protected may be half-updated, so the program must decide
    how to recover; every further blocking acquire raises this error again.
    """


class _SlotAllocator:
    """Hands out semaphore slots from this process's arenas."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.arena: Arena | None = None
        self.next = 0
        self.free: list[tuple[Arena, int]] = []
        self.epoch = 0  # bumped at every fork: slots older than the last fork are never reused

    def allocate(self) -> tuple[Arena, int]:
        free = self.free
        if free:
            try:
                return free.pop()
            except IndexError:
                pass
        with self.lock:
            arena = self.arena
            if arena is None or self.next + _SLOT_SIZE > _ARENA_SIZE:
                arena = self.arena = Arena(_ARENA_SIZE, purpose="semaphores")
                self.next = 0
            offset = self.next
            self.next = offset + _SLOT_SIZE
            return arena, offset

    def before_fork(self) -> None:
        self.epoch += 1

    def after_fork_in_child(self) -> None:
        # The parent keeps allocating from these arenas: the child must not.
        self.lock = threading.Lock()
        self.arena = None
        self.next = 0
        self.free = []


_slots = _SlotAllocator()
os.register_at_fork(before=_slots.before_fork, after_in_child=_slots.after_fork_in_child)


class SemLock(FastSemLock):
    """A process-shared semaphore or recursive mutex.

    Args:
        kind: :data:`RECURSIVE_MUTEX` (owned by the acquiring thread, re-entrant) or
            :data:`SEMAPHORE` (a counter; anyone may release).
        value: the initial count (a recursive mutex starts at 1: unlocked).
        maxvalue: the count above which :meth:`release` raises ``ValueError``.

    It can be passed to a child when the child is started (inherited under fork,
    handed over by descriptor under spawn and forkserver); pickling it at any other
    time raises ``RuntimeError``.

    ``release()``, ``__enter__`` and ``__exit__`` are C methods of its native base
    (``FastSemLock``); when the lock is busy, ``__enter__`` waits through
    :meth:`_acquire_slow`, and a failed release raises through :meth:`_release_failed`.
    """

    __slots__ = ("__weakref__", "_arena", "_epoch", "_h", "_offset", "_reusable")

    name = None  # unnamed: nothing in /dev/shm, nothing to unlink

    def __init__(self, kind: int, value: int, maxvalue: int) -> None:
        if kind not in (RECURSIVE_MUTEX, SEMAPHORE):
            raise ValueError(f"kind must be RECURSIVE_MUTEX (0) or SEMAPHORE (1), not {kind!r}")
        if not 1 <= maxvalue <= SEM_VALUE_MAX:
            raise ValueError(f"maxvalue must be between 1 and {SEM_VALUE_MAX}, not {maxvalue!r}")
        if not 0 <= value <= maxvalue:
            raise ValueError(f"invalid value {value!r}: it must be between 0 and maxvalue ({maxvalue})")
        arena, offset = _slots.allocate()
        self._arena = arena
        self._offset = offset
        self._epoch = _slots.epoch
        self._reusable = True
        self._h = h = ffi.new("prc_semlock *")
        lib.prc_sem_init(h, arena.base + offset, kind, value, maxvalue)
        self._bind(int(ffi.cast("uintptr_t", h)))

    # -- acquiring and releasing ---------------------------------------------------

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Take one unit; return whether it was taken.

        Args:
            block: wait for a unit if none is free (``False``: try once).
            timeout: with ``block``, the longest wait in seconds (``None``: no limit).

        Raises:
            OwnerDiedError: the lock is held by a process or thread that died.
        """
        rc = _enter(self._h)
        if rc == _OK:
            return True
        if rc != _BUSY:
            return self._acquire_slow(rc, -1)
        if not block:
            return False
        if timeout is None or timeout >= _FOREVER:
            deadline = -1  # beyond ~30 years (or inf) a deadline means no deadline
        elif timeout > 0:
            deadline = _monotonic_ns() + int(timeout * 1e9)
        else:
            return False
        return self._acquire_slow(_BUSY, deadline)

    def _acquire_slow(self, rc: int, deadline: int) -> bool:
        while rc != _OK:
            if rc == _WOULD_BLOCK:
                return False
            if rc == _BUSY:
                rc = _acquire(self._h, 1, deadline)
            elif rc == _INTERRUPTED:
                # Returning to the interpreter runs Python signal handlers (a
                # KeyboardInterrupt propagates from here); then wait out the rest.
                _let_signal_handlers_run()
                rc = _acquire(self._h, 1, deadline)
            elif rc == _OWNER_DIED:
                raise OwnerDiedError(self._owner_died_message())
            else:
                err = ffi.errno
                raise OSError(err, f"waiting on a semaphore failed: {os.strerror(err)}")
        return True

    def _release_failed(self) -> None:
        # The failed call left nothing changed; ask again for the reason.
        if self.kind == RECURSIVE_MUTEX:
            raise AssertionError("attempt to release recursive lock not owned by thread")
        raise ValueError("semaphore or lock released too many times")

    # -- state ------------------------------------------------------------------

    def _count(self) -> int:
        """Recursion depth held by this thread (recursive mutex), or this process's
        unreleased acquisitions (semaphore)."""
        return int(lib.prc_sem_count(self._h))

    def _is_mine(self) -> bool:
        """Whether the calling thread holds the lock."""
        return bool(lib.prc_sem_is_mine(self._h))

    def _get_value(self) -> int:
        """The number of units free now."""
        return int(lib.prc_sem_get_value(self._h))

    def _is_zero(self) -> bool:
        """Whether no unit is free now."""
        return lib.prc_sem_get_value(self._h) == 0

    def _after_fork(self) -> None:
        """Forget this process's bookkeeping (done by itself in a fork child too)."""
        lib.prc_sem_after_fork(self._h)

    def _owner_is_dead(self) -> bool:
        """Whether the recorded holder no longer exists (a zombie counts as dead)."""
        return bool(lib.prc_sem_owner_is_dead(self._h))

    @property
    def kind(self) -> int:
        """:data:`RECURSIVE_MUTEX` or :data:`SEMAPHORE`."""
        return int(self._h.kind)

    @property
    def maxvalue(self) -> int:
        """The largest count the semaphore may reach."""
        return int(self._h.maxvalue)

    @property
    def handle(self) -> int:
        """Address of the shared slot in this process (an opaque identity)."""
        return int(ffi.cast("uintptr_t", self._h.sem))

    @property
    def owner_pid(self) -> int | None:
        """Pid of the holder (recursive mutex, or last acquirer of a binary semaphore)."""
        return int(lib.prc_sem_owner_pid(self._h)) or None

    @property
    def owner_tid(self) -> int | None:
        """Kernel thread id of the holder, as :attr:`owner_pid`."""
        return int(lib.prc_sem_owner_tid(self._h)) or None

    def _owner_died_message(self) -> str:
        what = "recursive lock" if self.kind == RECURSIVE_MUTEX else "lock"
        return (
            f"the {what} is held by process {self.owner_pid} (thread {self.owner_tid}), which died without releasing it"
        )

    # -- lifetime and handing over ----------------------------------------------------

    def __reduce__(self) -> tuple[Any, ...]:
        assert_spawning(self)
        self._reusable = False
        return (_rebuild_semlock, (self._arena, self._offset))

    def __del__(self) -> None:
        try:
            if self._reusable and self._epoch == _slots.epoch:
                _slots.free.append((self._arena, self._offset))
        except (AttributeError, TypeError):  # half-built object, or interpreter shutdown
            pass

    def __repr__(self) -> str:
        kind = "RECURSIVE_MUTEX" if self.kind == RECURSIVE_MUTEX else "SEMAPHORE"
        return f"<SemLock {kind} value={self._get_value()} maxvalue={self.maxvalue}>"


def _let_signal_handlers_run() -> None:
    """Calling any Python function lets the interpreter run pending signal handlers."""


def _rebuild_semlock(arena: Arena, offset: int) -> SemLock:
    self = SemLock.__new__(SemLock)
    self._arena = arena
    self._offset = offset
    self._epoch = _slots.epoch
    self._reusable = False
    self._h = h = ffi.new("prc_semlock *")
    if lib.prc_sem_attach(h, arena.base + offset) != 0:
        raise ProcessError("the semaphore handed to this process is not initialised")
    self._bind(int(ffi.cast("uintptr_t", h)))
    return self
