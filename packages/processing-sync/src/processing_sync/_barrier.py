"""Process-shared ``Barrier``, built on a ``Condition`` and a few shared integers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from processing_core._reduction import assert_spawning

from processing_sync._condition import Condition
from processing_sync._locks import SEM_VALUE_MAX, SEMAPHORE, Lock, NativeSemLock

__all__ = ["Barrier", "BrokenBarrierError"]

BrokenBarrierError = threading.BrokenBarrierError
"""Raised by `Barrier.wait` when the barrier is broken or reset: ``threading``'s own class,
so ``except threading.BrokenBarrierError`` catches it."""


def _new_counter() -> Any:
    return NativeSemLock(SEMAPHORE, 0, SEM_VALUE_MAX)


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
