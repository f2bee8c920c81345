"""Sleepers in two generations: the wake-up machinery of ``Condition`` and ``Event``.

The problem
-----------
Across processes, a waiter cannot be woken individually: it sleeps on a shared
semaphore, and a notifier puts *tokens* into it.  A token must go to a process that
was asleep when the notifier ran, not to one that started waiting afterwards (else
a ``notify_all()`` could leave an old sleeper asleep while a newcomer wakes up).
``multiprocessing`` makes the notifier wait, holding the lock, until every woken
sleeper has acknowledged: two more context switches per wake-up.

How it is done here
-------------------
Sleepers register in one of two *generations*, each a pair of native counting
semaphores: ``sleepers[g]`` (registered, not yet picked) and ``tokens[g]`` (picked,
token not yet taken); ``current`` holds the generation newcomers join.  A notifier
picks the oldest sleepers first (the generation that is not current), then the
current one; once it has picked from the current generation it makes the other one
current, so newcomers can never sleep on a semaphore holding tokens meant for older
sleepers.  Before a generation becomes current again, the notifier waits until its
tokens are all taken: normally they were long ago, so nobody waits for a hand-over.

A sleeper whose timeout expires (or that is interrupted) takes its registration back;
if a notifier already picked every sleeper of its generation, a token is on its way,
so it takes that token instead and reports that it was woken.  Counts within a
generation are interchangeable, so they stay exact.  A sleeper killed before taking
its token would hold its generation for ever: after ``DRAIN_GRACE_SECONDS`` the
notifier discards the stale tokens and goes on.

Registering and picking happen under the caller's lock (the condition's lock, the
event's mutex); sleeping, taking a token and withdrawing need no lock.

The non-blocking counter operations call the native functions directly with the
semaphores' handles (what ``SemLock``'s methods do, one Python frame less each): a
wake-up does about ten of them.
"""

from __future__ import annotations

import time
from typing import Any

from processing_core import _semaphore
from processing_core._native import lib
from processing_core._platform import monotonic

from processing_sync._locks import SEM_VALUE_MAX, SEMAPHORE, NativeSemLock

__all__ = ["DRAIN_GRACE_SECONDS", "Sleepers"]

#: How long a notifier waits for the sleepers of an earlier wake-up to take their tokens.
DRAIN_GRACE_SECONDS = 5.0


_acquire = _semaphore._acquire  # (handle, block, deadline) -> 0 when a unit was taken
_release = _semaphore._release  # (handle) -> 0, or non-zero past maxvalue (cannot happen here)
_get_value = lib.prc_sem_get_value


def _counter() -> Any:
    return NativeSemLock(SEMAPHORE, 0, SEM_VALUE_MAX)


class Sleepers:
    """Processes and threads asleep on one condition or event (see the module docstring)."""

    __slots__ = ("_current", "_current_h", "_sleepers", "_sleepers_h", "_tokens", "_tokens_h")

    def __init__(self, state: tuple[Any, ...] | None = None) -> None:
        if state is None:
            state = (NativeSemLock(SEMAPHORE, 0, 1), (_counter(), _counter()), (_counter(), _counter()))
        self._current, self._sleepers, self._tokens = state
        # The native handles (kept alive by the SemLocks above).
        self._current_h = self._current._h
        self._sleepers_h = (self._sleepers[0]._h, self._sleepers[1]._h)
        self._tokens_h = (self._tokens[0]._h, self._tokens[1]._h)

    def __reduce__(self) -> tuple[Any, ...]:
        # Only ever pickled inside a primitive that checked assert_spawning already;
        # the native semaphores check it again.
        return (Sleepers, ((self._current, self._sleepers, self._tokens),))

    def count(self) -> int:
        """How many are asleep and not yet picked."""
        return int(_get_value(self._sleepers_h[0])) + int(_get_value(self._sleepers_h[1]))

    def register(self) -> int:
        """Join the current generation (under the caller's lock); return it."""
        generation = int(_get_value(self._current_h))
        _release(self._sleepers_h[generation])
        return generation

    def sleep(self, generation: int, timeout: float | None) -> bool:
        """Sleep until picked, or until ``timeout``; True if picked.  Needs no lock."""
        tokens = self._tokens[generation]
        woken = False
        try:
            if timeout is None:
                rc = _acquire(self._tokens_h[generation], 1, -1)
                woken = rc == 0 or tokens._acquire_slow(rc, -1)
            else:
                woken = tokens.acquire(timeout > 0, max(timeout, 0.0))
        finally:
            if not woken:
                woken = self._withdraw(generation)
        return bool(woken)

    def _withdraw(self, generation: int) -> bool:
        if _acquire(self._sleepers_h[generation], 0, -1) == 0:
            return False
        # Every sleeper of this generation was picked: our token is there or coming.
        self._tokens[generation].acquire()
        return True

    def wake(self, n: int) -> int:
        """Pick up to ``n`` sleepers, oldest first, and give each a token (under the lock)."""
        current = int(_get_value(self._current_h))
        older = 1 - current
        woken = self._pick(older, n)
        if woken < n and _get_value(self._sleepers_h[current]):
            woken += self._pick(current, n - woken)
            # The current generation holds tokens now: newcomers must sleep elsewhere.
            self._await_drained(older)
            if current:
                _acquire(self._current_h, 0, -1)
            else:
                _release(self._current_h)
        return woken

    def wake_all(self) -> None:
        """Give every sleeper a token (under the lock): :meth:`wake` without a limit, inlined."""
        current = int(_get_value(self._current_h))
        older = 1 - current
        sleepers, tokens = self._sleepers_h[older], self._tokens_h[older]
        while _acquire(sleepers, 0, -1) == 0:
            _release(tokens)
        sleepers, tokens = self._sleepers_h[current], self._tokens_h[current]
        if not _get_value(sleepers):
            return
        while _acquire(sleepers, 0, -1) == 0:
            _release(tokens)
        if _get_value(self._tokens_h[older]):
            self._await_drained(older)
        if current:
            _acquire(self._current_h, 0, -1)
        else:
            _release(self._current_h)

    def _pick(self, generation: int, n: int) -> int:
        sleepers, tokens = self._sleepers_h[generation], self._tokens_h[generation]
        picked = 0
        while picked < n and _acquire(sleepers, 0, -1) == 0:
            _release(tokens)
            picked += 1
        return picked

    def _await_drained(self, generation: int) -> None:
        """Wait (normally not at all) until ``generation``'s tokens are all taken."""
        if not _get_value(self._tokens_h[generation]):
            return
        tokens = self._tokens[generation]
        deadline = monotonic() + DRAIN_GRACE_SECONDS
        pause = 0.0
        while not tokens._is_zero():
            if monotonic() > deadline:
                # A sleeper died before taking its token: drop the token, or it would
                # wake a later sleeper that nobody meant to wake.
                while tokens.acquire(False):
                    pass
                return
            time.sleep(pause)
            pause = min(pause * 2 or 1e-5, 1e-3)
