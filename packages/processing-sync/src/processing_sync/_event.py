"""Process-shared ``Event``.

Why not a condition variable
----------------------------
An event wakes *everyone* asleep when it is set, and a woken waiter needs nothing
more (no lock to take back), so the hand-over a ``Condition`` does (the notifier waits
for each woken waiter) would only cost context switches.  Here ``set()`` puts one token
per sleeper into a semaphore and returns at once; a sleeper that takes a token returns.

Sleepers register in one of two *generations* (``sleepers[g]``, ``tokens[g]``, with ``g``
kept in the ``generation`` semaphore).  ``set()`` hands every sleeper of the current
generation a token and switches generation, so a waiter that arrives after ``set()``
(once the event was cleared again) sleeps on the other semaphore and cannot take a
token meant for an earlier sleeper.  Before ``set()`` switches back to a generation it
waits until that generation's tokens are all taken (normally long since), so the two
never mix.  A sleeper whose timeout expires (or that is interrupted) takes its
registration back; if ``set()`` already counted it, it takes its token instead and
reports that it was woken.  All of it is counted in native semaphores, under one mutex
for registering and setting.
"""

from __future__ import annotations

import time
from typing import Any

from processing_core._platform import monotonic
from processing_core._reduction import assert_spawning

from processing_sync._locks import SEM_VALUE_MAX, SEMAPHORE, NativeSemLock

__all__ = ["DRAIN_GRACE_SECONDS", "Event"]

#: How long ``set()`` waits for the sleepers of two ``set()`` calls ago to wake up.
DRAIN_GRACE_SECONDS = 5.0


def _counter() -> Any:
    return NativeSemLock(SEMAPHORE, 0, SEM_VALUE_MAX)


class Event:
    """An event flag shared between processes, like ``threading.Event``."""

    def __init__(self, *, ctx: Any = None) -> None:
        self._setup(
            NativeSemLock(SEMAPHORE, 1, 1),
            NativeSemLock(SEMAPHORE, 0, 1),
            NativeSemLock(SEMAPHORE, 0, 1),
            (_counter(), _counter()),
            (_counter(), _counter()),
        )

    def _setup(
        self, mutex: Any, flag: Any, generation: Any, sleepers: tuple[Any, Any], tokens: tuple[Any, Any]
    ) -> None:
        self._mutex = mutex
        self._flag = flag
        self._generation = generation
        self._sleepers = sleepers
        self._tokens = tokens

    def __getstate__(self) -> tuple[Any, ...]:
        assert_spawning(self)
        return (self._mutex, self._flag, self._generation, self._sleepers, self._tokens)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._setup(*state)

    def is_set(self) -> bool:
        """Return ``True`` if the flag is set."""
        return not self._flag._is_zero()

    #: 0.52 name of :meth:`is_set`.
    isSet = is_set

    def set(self) -> None:
        """Set the flag and wake every waiter."""
        mutex = self._mutex
        mutex.acquire()
        try:
            if self._flag._is_zero():
                self._flag.release()
            generation = self._generation._get_value()
            sleepers = self._sleepers[generation]
            if sleepers._is_zero():
                return
            self._await_drained(1 - generation)
            woken = 0
            while sleepers.acquire(False):
                woken += 1
            # New waiters go to the other generation from now on.
            if generation:
                self._generation.acquire(False)
            else:
                self._generation.release()
            tokens = self._tokens[generation]
            for _ in range(woken):
                tokens.release()
        finally:
            mutex.release()

    def _await_drained(self, generation: int) -> None:
        """Wait (briefly, normally not at all) until ``generation``'s tokens are all taken."""
        tokens = self._tokens[generation]
        if tokens._is_zero():
            return
        deadline = monotonic() + DRAIN_GRACE_SECONDS
        pause = 0.0
        while not tokens._is_zero():
            if monotonic() > deadline:
                # A sleeper died before taking its token: drop it, or it would wake a
                # later waiter that set() never meant to wake.
                while tokens.acquire(False):
                    pass
                return
            time.sleep(pause)
            pause = min(pause * 2 or 1e-5, 1e-3)

    def clear(self) -> None:
        """Reset the flag."""
        self._flag.acquire(False)

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until the flag is set, or until ``timeout``.

        Args:
            timeout: Seconds to wait at most (``None``: no limit).

        Returns:
            ``True`` if the flag was set (or the waiter was woken by ``set()``), ``False``
            if the timeout expired.
        """
        flag = self._flag
        if not flag._is_zero():
            return True
        mutex = self._mutex
        mutex.acquire()
        try:
            if not flag._is_zero():
                return True
            generation = self._generation._get_value()
            self._sleepers[generation].release()
        finally:
            mutex.release()
        woken = False
        try:
            if timeout is None:
                woken = self._tokens[generation].acquire()
            else:
                woken = self._tokens[generation].acquire(timeout > 0, max(timeout, 0.0))
        finally:
            if not woken:
                woken = self._withdraw(generation)
        return bool(woken)

    def _withdraw(self, generation: int) -> bool:
        """Take back a registration; True if ``set()`` had already counted this sleeper."""
        if self._sleepers[generation].acquire(False):
            return False
        self._tokens[generation].acquire()
        return True
