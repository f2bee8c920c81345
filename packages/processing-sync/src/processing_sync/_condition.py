"""Process-shared ``Condition`` and ``Barrier``.

How a condition hands wake-ups across processes without losing any
-------------------------------------------------------------------
Three native semaphores sit beside the condition's lock:

* ``sleepers``: one unit per waiter that is asleep and not yet picked by a notifier;
* ``tokens``: a notifier puts one unit here per waiter it picked; a waiter sleeps on it;
* ``acks``: a waiter that took a token says so here.

A waiter, holding the lock, adds itself to ``sleepers``, releases the lock, and sleeps
on ``tokens``.  A notifier, holding the lock, takes up to ``n`` units from ``sleepers``,
puts as many into ``tokens``, and then waits (still holding the lock) for as many
``acks``: so no waiter that arrives later can take a token meant for one already asleep.

A waiter whose timeout expires (or that is interrupted) first tries to take its own
unit back from ``sleepers``.  If none is left, a notifier has already picked every
sleeper, so a token is on its way: it takes it and acknowledges it like any woken
waiter (and reports that it was notified).  Either way the counts stay exact, and a
notifier never waits for an acknowledgement that cannot come from a live waiter.  A
waiter killed while asleep cannot acknowledge: the notifier then gives up after
``ACK_GRACE_SECONDS`` and records the debt in ``unacked``, so a late acknowledgement
does not confuse the next notify.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from processing_core._platform import monotonic
from processing_core._reduction import assert_spawning

from processing_sync._locks import SEM_VALUE_MAX, SEMAPHORE, Lock, NativeSemLock, RLock

__all__ = ["ACK_GRACE_SECONDS", "Barrier", "BrokenBarrierError", "Condition"]

#: ``threading``'s own exception, so ``except threading.BrokenBarrierError`` works.
BrokenBarrierError = threading.BrokenBarrierError

#: How long a notifier waits for a picked waiter to acknowledge before deciding it died.
ACK_GRACE_SECONDS = 5.0

T = TypeVar("T")


class _NotOwnedError(RuntimeError, AssertionError):
    """The calling thread does not hold the condition's lock.

    A ``RuntimeError`` as in ``threading`` and an ``AssertionError`` as in ``multiprocessing``.
    """


def _new_counter() -> Any:
    return NativeSemLock(SEMAPHORE, 0, SEM_VALUE_MAX)


class Condition:
    """A condition variable shared between processes, like ``threading.Condition``.

    Args:
        lock: A :class:`Lock` or :class:`RLock` of this package; a new ``RLock`` if omitted.

    Raises:
        TypeError: If ``lock`` is not a lock of this package.
    """

    def __init__(self, lock: Lock | RLock | None = None, *, ctx: Any = None) -> None:
        if lock is None:
            lock = RLock()
        elif not isinstance(lock, NativeSemLock):
            raise TypeError(
                f"Condition needs a processing Lock or RLock, not {type(lock).__name__}: "
                "a lock of the threading module cannot be shared between processes"
            )
        self._setup(lock, _new_counter(), _new_counter(), _new_counter(), _new_counter())

    def _setup(self, lock: Any, sleepers: Any, tokens: Any, acks: Any, unacked: Any) -> None:
        self._lock = lock
        self._sleepers = sleepers
        self._tokens = tokens
        self._acks = acks
        self._unacked = unacked
        self.acquire = lock.acquire  # type: ignore[method-assign]
        self.release = lock.release  # type: ignore[method-assign]

    def __getstate__(self) -> tuple[Any, ...]:
        assert_spawning(self)
        return (self._lock, self._sleepers, self._tokens, self._acks, self._unacked)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._setup(*state)

    def __enter__(self) -> bool:
        return bool(self._lock.acquire())

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._lock.release()

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Acquire the underlying lock (replaced per instance by the lock's own method)."""
        return bool(self._lock.acquire(block, timeout))  # pragma: no cover - replaced per instance

    def release(self) -> None:
        """Release the underlying lock (replaced per instance by the lock's own method)."""
        self._lock.release()  # pragma: no cover - replaced per instance

    def __repr__(self) -> str:
        try:
            waiters = str(self._sleepers._get_value())
        except Exception:
            waiters = "unknown"
        return f"<{type(self).__name__}({self._lock!r}, {waiters})>"

    def _check_owned(self, what: str) -> None:
        if not self._lock._is_mine():
            raise _NotOwnedError(f"cannot {what} on un-acquired lock")

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, sleep until notified or until ``timeout``, take the lock back.

        Args:
            timeout: Seconds to wait at most (``None``: no limit).

        Returns:
            ``True`` if notified, ``False`` if the timeout expired.

        Raises:
            RuntimeError: If the calling thread does not hold the lock.
        """
        self._check_owned("wait")
        semlock = self._lock
        depth = semlock._count() or 1
        self._sleepers.release()
        for _ in range(depth):
            semlock.release()
        notified = False
        settled = False
        try:
            if timeout is None:
                notified = self._tokens.acquire()
            else:
                notified = self._tokens.acquire(timeout > 0, max(timeout, 0.0))
            if notified:
                settled = True
                self._acks.release()
            else:
                notified = self._withdraw()
                settled = True
        finally:
            if not settled:
                # Interrupted while asleep (Ctrl-C): leave the sleepers cleanly first.
                self._withdraw()
            for _ in range(depth):
                semlock.acquire()
        return bool(notified)

    def _withdraw(self) -> bool:
        """Leave the sleepers without a wake-up; return True if a notifier had picked us."""
        if self._sleepers.acquire(False):
            return False
        # Every sleeper has been picked, so a token is on its way to us.
        self._tokens.acquire()
        self._acks.release()
        return True

    def wait_for(self, predicate: Callable[[], T], timeout: float | None = None) -> T:
        """Wait until ``predicate()`` is true, or until ``timeout``.

        Args:
            predicate: A callable checked with the lock held.
            timeout: Seconds to wait at most (``None``: no limit).

        Returns:
            The last value of ``predicate()``.
        """
        result = predicate()
        if result:
            return result
        deadline = None if timeout is None else monotonic() + timeout
        while not result:
            if deadline is None:
                self.wait()
            else:
                remaining = deadline - monotonic()
                if remaining <= 0:
                    break
                self.wait(remaining)
            result = predicate()
        return result

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` of the waiting threads or processes.

        Raises:
            RuntimeError: If the calling thread does not hold the lock.
        """
        self._check_owned("notify")
        self._settle_old_debts()
        picked = 0
        while picked < n and self._sleepers.acquire(False):
            self._tokens.release()
            picked += 1
        self._collect_acks(picked)

    def notify_all(self) -> None:
        """Wake every thread or process waiting on the condition.

        Raises:
            RuntimeError: If the calling thread does not hold the lock.
        """
        self.notify(SEM_VALUE_MAX)

    #: 0.52 (and ``threading``'s deprecated) name of :meth:`notify_all`.
    notifyAll = notify_all

    def _collect_acks(self, picked: int) -> None:
        deadline = monotonic() + ACK_GRACE_SECONDS
        pending = picked
        try:
            while pending:
                if not self._acks.acquire(True, max(deadline - monotonic(), 0.0)):
                    break
                pending -= 1
        finally:
            # A waiter that never acknowledged (killed, or we were interrupted): remember it.
            for _ in range(pending):
                self._unacked.release()

    def _settle_old_debts(self) -> None:
        while self._unacked.acquire(False):
            if not self._acks.acquire(False):
                self._unacked.release()
                return


# Barrier states, kept in shared memory beside the waiter count.
_FILLING, _DRAINING, _RESETTING, _BROKEN = 0, 1, -1, -2
_STATE, _COUNT = 0, 1


class _SharedInts:
    """A few small shared integers, each held as the value of a native semaphore.

    Only read and written under the barrier's lock; a value ``v`` is stored as
    ``v + BIAS`` so the barrier's negative states fit.
    """

    BIAS = 2

    def __init__(self, size: int, semlocks: tuple[Any, ...] | None = None) -> None:
        self._cells = semlocks if semlocks is not None else tuple(_new_counter() for _ in range(size))
        for cell in self._cells if semlocks is None else ():
            for _ in range(self.BIAS):
                cell.release()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_SharedInts, (len(self._cells), self._cells))

    def __getitem__(self, index: int) -> int:
        return int(self._cells[index]._get_value()) - self.BIAS

    def __setitem__(self, index: int, value: int) -> None:
        cell = self._cells[index]
        current = int(cell._get_value()) - self.BIAS
        for _ in range(value - current):
            cell.release()
        for _ in range(current - value):
            cell.acquire(False)


class Barrier:
    """A barrier for a fixed number of threads or processes, like ``threading.Barrier``.

    Args:
        parties: How many must call :meth:`wait` before all of them go on.
        action: Called by one of them (the last to arrive) when the barrier opens.
        timeout: The default timeout of :meth:`wait`.

    Raises:
        ValueError: If ``parties`` is less than 1.
    """

    def __init__(
        self,
        parties: int,
        action: Callable[[], object] | None = None,
        timeout: float | None = None,
        *,
        ctx: Any = None,
    ) -> None:
        if not isinstance(parties, int) or isinstance(parties, bool):
            raise TypeError(f"Barrier parties must be an int, not {type(parties).__name__}")
        if parties < 1:
            raise ValueError(f"Barrier parties must be at least 1, not {parties}")
        self._setup(parties, action, timeout, Condition(Lock()), _SharedInts(2))

    def _setup(self, parties: int, action: Any, timeout: float | None, cond: Condition, shared: Any) -> None:
        self._parties = parties
        self._action = action
        self._timeout = timeout
        self._cond = cond
        self._shared = shared

    def __getstate__(self) -> tuple[Any, ...]:
        assert_spawning(self)
        return (self._parties, self._action, self._timeout, self._cond, self._shared)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._setup(*state)

    def wait(self, timeout: float | None = None) -> int:
        """Wait until all parties have called ``wait``.

        Args:
            timeout: Seconds to wait at most (``None``: the barrier's default timeout).

        Returns:
            A distinct index in ``range(parties)`` for each party.

        Raises:
            threading.BrokenBarrierError: If the barrier is broken or reset while waiting,
                or the timeout expires (which breaks it for everyone).
        """
        if timeout is None:
            timeout = self._timeout
        shared = self._shared
        with self._cond:
            # A barrier still letting the previous round out (or resetting) is not yet open.
            self._cond.wait_for(lambda: shared[_STATE] not in (_DRAINING, _RESETTING))
            if shared[_STATE] == _BROKEN:
                raise BrokenBarrierError
            index = shared[_COUNT]
            shared[_COUNT] = index + 1
            try:
                if index + 1 == self._parties:
                    self._open()
                else:
                    self._wait_for_opening(timeout)
                return index
            finally:
                shared[_COUNT] -= 1
                if shared[_COUNT] == 0 and shared[_STATE] in (_DRAINING, _RESETTING):
                    shared[_STATE] = _FILLING
                    self._cond.notify_all()

    def _open(self) -> None:
        try:
            if self._action is not None:
                self._action()
        except BaseException:
            self._break()
            raise
        self._shared[_STATE] = _DRAINING
        self._cond.notify_all()

    def _wait_for_opening(self, timeout: float | None) -> None:
        shared = self._shared
        if not self._cond.wait_for(lambda: shared[_STATE] != _FILLING, timeout):
            self._break()
            raise BrokenBarrierError
        if shared[_STATE] < 0:
            raise BrokenBarrierError

    def _break(self) -> None:
        self._shared[_STATE] = _BROKEN
        self._cond.notify_all()

    def reset(self) -> None:
        """Return the barrier to its empty state; current waiters get ``BrokenBarrierError``."""
        shared = self._shared
        with self._cond:
            if shared[_COUNT] > 0:
                if shared[_STATE] in (_FILLING, _BROKEN):
                    # The last waiter to leave completes the reset.
                    shared[_STATE] = _RESETTING
            else:
                shared[_STATE] = _FILLING
            self._cond.notify_all()

    def abort(self) -> None:
        """Break the barrier: current and future waiters get ``BrokenBarrierError``."""
        with self._cond:
            self._break()

    @property
    def parties(self) -> int:
        """How many parties must call :meth:`wait` for the barrier to open."""
        return self._parties

    @property
    def n_waiting(self) -> int:
        """How many parties are waiting now."""
        shared = self._shared
        return int(shared[_COUNT]) if shared[_STATE] == _FILLING else 0

    @property
    def broken(self) -> bool:
        """``True`` if the barrier is broken."""
        return bool(self._shared[_STATE] == _BROKEN)

    def __repr__(self) -> str:
        if self.broken:
            return f"<{type(self).__name__}(broken)>"
        return f"<{type(self).__name__}(waiters={self.n_waiting}/{self.parties})>"
