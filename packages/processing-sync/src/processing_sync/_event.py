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

from processing_core._reduction import assert_spawning

from processing_sync._locks import SEM_VALUE_MAX, SEMAPHORE, NativeSemLock
from processing_sync._sleepers import Sleepers

__all__ = ["Event"]


class Event:
    """An event flag shared between processes, like ``threading.Event``."""

    def __init__(self, *, ctx: Any = None) -> None:
        self._setup(NativeSemLock(SEMAPHORE, 1, 1), NativeSemLock(SEMAPHORE, 0, 1), Sleepers())

    def _setup(self, mutex: Any, flag: Any, sleepers: Sleepers) -> None:
        self._mutex = mutex
        self._flag = flag
        self._sleepers = sleepers

    def __getstate__(self) -> tuple[Any, ...]:
        assert_spawning(self)
        return (self._mutex, self._flag, self._sleepers)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._setup(*state)

    def is_set(self) -> bool:
        """Return ``True`` if the flag is set."""
        return not self._flag._is_zero()

    #: 0.52 name of :meth:`is_set`.
    isSet = is_set

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        with self._mutex:
            if self._flag._is_zero():
                self._flag.release()
            self._sleepers.wake(SEM_VALUE_MAX)

    def clear(self) -> None:
        """Reset the flag."""
        self._flag.acquire(False)

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until the flag is set, or until ``timeout``.

        Args:
            timeout: Seconds to wait at most (``None``: no limit).

        Returns:
            ``True`` if the flag was set (or the waiter was woken by ``set()``, even if
            the event was cleared since), ``False`` if the timeout expired.
        """
        flag = self._flag
        if not flag._is_zero():
            return True
        with self._mutex:
            if not flag._is_zero():
                return True
            generation = self._sleepers.register()
        return self._sleepers.sleep(generation, timeout)
