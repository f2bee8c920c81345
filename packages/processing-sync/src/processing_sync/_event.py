"""Process-shared ``Event``.

An event wakes *everyone* asleep when it is set, and a woken waiter needs nothing
more (no lock to take back), so there is no condition variable here: a mutex, the
flag (a native semaphore holding 0 or 1) and :class:`~processing_sync._sleepers.Sleepers`.
``set()`` gives every sleeper a token and returns at once; a waiter that arrives
after it (once the event was cleared again) sleeps in the other generation, so it
cannot take a wake-up meant for an earlier sleeper.
"""

from __future__ import annotations

from typing import Any

from processing_core import _semaphore
from processing_core._native import lib
from processing_core._reduction import assert_spawning

from processing_sync._locks import SEMAPHORE, NativeSemLock
from processing_sync._sleepers import Sleepers

__all__ = ["Event"]

# Straight to the native functions on the hot paths (what SemLock's methods call).
_get_value = lib.prc_sem_get_value
_acquire = _semaphore._acquire
_release = _semaphore._release
_enter = _semaphore._enter


class Event:
    """An event flag shared between processes, like ``threading.Event``."""

    def __init__(self, *, ctx: Any = None) -> None:
        self._setup(NativeSemLock(SEMAPHORE, 1, 1), NativeSemLock(SEMAPHORE, 0, 1), Sleepers())

    def _setup(self, mutex: Any, flag: Any, sleepers: Sleepers) -> None:
        self._mutex = mutex
        self._mutex_h = mutex._h
        self._flag = flag
        self._flag_h = flag._h
        self._sleepers = sleepers

    def __getstate__(self) -> tuple[Any, ...]:
        assert_spawning(self)
        return (self._mutex, self._flag, self._sleepers)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._setup(*state)

    def is_set(self) -> bool:
        """Return ``True`` if the flag is set."""
        return bool(_get_value(self._flag_h))

    #: 0.52 name of :meth:`is_set`.
    isSet = is_set

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        self._lock_mutex()
        try:
            if not _get_value(self._flag_h):
                _release(self._flag_h)
            self._sleepers.wake_all()
        finally:
            _release(self._mutex_h)

    def clear(self) -> None:
        """Reset the flag."""
        _acquire(self._flag_h, 0, -1)

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until the flag is set, or until ``timeout``.

        Args:
            timeout: Seconds to wait at most (``None``: no limit).

        Returns:
            ``True`` if the flag was set (or the waiter was woken by ``set()``, even if
            the event was cleared since), ``False`` if the timeout expired.
        """
        flag_h = self._flag_h
        if _get_value(flag_h):
            return True
        self._lock_mutex()
        try:
            if _get_value(flag_h):
                return True
            generation = self._sleepers.register()
        finally:
            _release(self._mutex_h)
        return self._sleepers.sleep(generation, timeout)

    def _lock_mutex(self) -> None:
        rc = _enter(self._mutex_h)
        if rc:
            # Interrupted (the signal handlers run, then it retries) or a dead holder.
            self._mutex._acquire_slow(rc, -1)
