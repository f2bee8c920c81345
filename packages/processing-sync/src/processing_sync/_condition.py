"""Process-shared ``Condition``.

The lock is one of this package's ``Lock``/``RLock``; the waiters are kept by
:class:`~processing_sync._sleepers.Sleepers` (two generations of native semaphores),
so a wake-up is never lost and never taken by a process that started waiting after
the ``notify()``, and ``notify()`` does not wait for the woken processes to run.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, TypeVar

from processing_core import _semaphore
from processing_core._native import lib
from processing_core._platform import monotonic
from processing_core._reduction import assert_spawning

from processing_sync._locks import SEM_VALUE_MAX, Lock, NativeSemLock, RLock
from processing_sync._sleepers import Sleepers

__all__ = ["Condition"]

T = TypeVar("T")

# Straight to the native functions on the hot paths (what SemLock's methods call).
_is_mine = lib.prc_sem_is_mine
_count = lib.prc_sem_count
_enter = _semaphore._enter
_release = _semaphore._release


class _NotOwnedError(RuntimeError, AssertionError):
    """The calling thread does not hold the condition's lock.

    A ``RuntimeError`` as in ``threading`` and an ``AssertionError`` as in ``multiprocessing``.
    """


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
        self._setup(lock, Sleepers())

    def _setup(self, lock: Any, sleepers: Sleepers) -> None:
        self._lock = lock
        self._lock_h = lock._h
        self._sleepers = sleepers
        self.acquire = lock.acquire  # type: ignore[method-assign]
        self.release = lock.release  # type: ignore[method-assign]

    def __getstate__(self) -> tuple[Any, ...]:
        assert_spawning(self)
        return (self._lock, self._sleepers)

    def __setstate__(self, state: tuple[Any, ...]) -> None:
        self._setup(*state)

    def __enter__(self) -> bool:
        rc = _enter(self._lock_h)
        if rc:
            return bool(self._lock._acquire_slow(rc, -1))
        return True

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if _release(self._lock_h):
            self._lock._release_failed()

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        """Acquire the underlying lock (replaced per instance by the lock's own method)."""
        return bool(self._lock.acquire(block, timeout))  # pragma: no cover - replaced per instance

    def release(self) -> None:
        """Release the underlying lock (replaced per instance by the lock's own method)."""
        self._lock.release()  # pragma: no cover - replaced per instance

    def __repr__(self) -> str:
        try:
            waiters = str(self._sleepers.count())
        except Exception:
            waiters = "unknown"
        return f"<{type(self).__name__}({self._lock!r}, {waiters})>"

    def wait(self, timeout: float | None = None) -> bool:
        """Release the lock, sleep until notified or until ``timeout``, take the lock back.

        Args:
            timeout: Seconds to wait at most (``None``: no limit).

        Returns:
            ``True`` if notified, ``False`` if the timeout expired.

        Raises:
            RuntimeError: If the calling thread does not hold the lock.
        """
        if not _is_mine(self._lock_h):
            raise _NotOwnedError("cannot wait on un-acquired lock")
        handle = self._lock_h
        depth = _count(handle) or 1
        generation = self._sleepers.register()
        for _ in range(depth):
            if _release(handle):
                self._lock._release_failed()
        try:
            return self._sleepers.sleep(generation, timeout)
        finally:
            for _ in range(depth):
                rc = _enter(handle)
                if rc:
                    self._lock._acquire_slow(rc, -1)

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
        if not _is_mine(self._lock_h):
            raise _NotOwnedError("cannot notify on un-acquired lock")
        if n > 0:
            self._sleepers.wake(n)

    def notify_all(self) -> None:
        """Wake every thread or process waiting on the condition.

        Raises:
            RuntimeError: If the calling thread does not hold the lock.
        """
        self.notify(SEM_VALUE_MAX)

    #: 0.52 (and ``threading``'s deprecated) name of :meth:`notify_all`.
    notifyAll = notify_all
