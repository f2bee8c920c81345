"""Process-shared locks and semaphores: ``Lock``, ``RLock``, ``Semaphore``, ``BoundedSemaphore``.

Each object *is* a native semaphore of ``processing_core`` (a subclass of its
``SemLock``), so ``acquire``, ``release`` and ``with lock:`` go straight to the native
code with no wrapper in between.  The objects can be handed to a child process when
it is created (as an argument of ``Process`` or a pool initializer); pickling one at
any other time raises ``RuntimeError`` naming its type.
"""

from __future__ import annotations

import os
import threading
from typing import Any

from processing_core import _semaphore
from processing_core._reduction import assert_spawning

RECURSIVE_MUTEX: int = _semaphore.RECURSIVE_MUTEX
SEMAPHORE: int = _semaphore.SEMAPHORE
#: The largest value a semaphore may hold (``SEM_VALUE_MAX`` on Linux).
SEM_VALUE_MAX: int = _semaphore.SEM_VALUE_MAX

NativeSemLock = _semaphore.SemLock

__all__ = ["SEM_VALUE_MAX", "BoundedSemaphore", "Lock", "RLock", "SemLock", "Semaphore"]


def holder_name() -> str:
    """Name the calling thread as 0.52 did: ``MainProcess`` or ``MainProcess|Thread-1``."""
    from processing_core._process import current_process

    name = current_process().name
    thread = threading.current_thread()
    if thread is not threading.main_thread():
        name = f"{name}|{thread.name}"
    return name


def _rebuild(cls: type[SemLock], native_args: tuple[Any, ...]) -> SemLock:
    native = _semaphore._rebuild_semlock(*native_args)
    # Same memory layout (no slots of our own): the native object becomes a cls.
    native.__class__ = cls
    return native  # type: ignore[return-value]


class SemLock(NativeSemLock):
    """Base class of the semaphore-backed primitives (not meant to be used directly).

    ``acquire(block=True, timeout=None)`` returns whether it was acquired; ``release()``
    gives it back; both come from the native ``SemLock``.
    """

    __slots__ = ()

    @property
    def _semlock(self) -> SemLock:
        """The native semaphore (the object itself), as ``multiprocessing`` names it."""
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        assert_spawning(self)
        _, native_args = NativeSemLock.__reduce__(self)
        return (_rebuild, (type(self), native_args))

    def _owned_elsewhere(self) -> str:
        """Who holds it, when the calling thread does not: another thread or process."""
        return "SomeOtherThread" if self.owner_pid == os.getpid() else "SomeOtherProcess"


class Semaphore(SemLock):
    """A counting semaphore shared between processes, like ``threading.Semaphore``.

    Args:
        value: The initial value (at least 0).
    """

    __slots__ = ()

    def __init__(self, value: int = 1, *, ctx: Any = None) -> None:
        _check_value(value)
        super().__init__(SEMAPHORE, value, SEM_VALUE_MAX)

    def get_value(self) -> int:
        """Return the current value of the semaphore."""
        return int(self._get_value())

    #: 0.52 name of :meth:`get_value`.
    getValue = get_value

    def _value_text(self) -> str:
        try:
            return str(self._get_value())
        except Exception:
            return "unknown"

    def __repr__(self) -> str:
        return f"<{type(self).__name__}(value={self._value_text()})>"


class BoundedSemaphore(Semaphore):
    """A semaphore that may not be released above its initial value.

    Releasing it too many times raises ``ValueError``.

    Args:
        value: The initial and maximum value (at least 0).
    """

    __slots__ = ()

    def __init__(self, value: int = 1, *, ctx: Any = None) -> None:
        _check_value(value)
        # A native semaphore needs maxvalue >= 1: BoundedSemaphore(0) may be released once.
        SemLock.__init__(self, SEMAPHORE, value, max(value, 1))

    def __repr__(self) -> str:
        return f"<{type(self).__name__}(value={self._value_text()}, maxvalue={self.maxvalue})>"


class Lock(SemLock):
    """A non-recursive lock shared between processes, like ``threading.Lock``.

    Any thread or process may release it.  Releasing it while it is unlocked raises
    ``ValueError`` (as ``multiprocessing.Lock`` does).
    """

    __slots__ = ()

    def __init__(self, *, ctx: Any = None) -> None:
        super().__init__(SEMAPHORE, 1, 1)

    def __repr__(self) -> str:
        try:
            if self._is_mine():
                owner = holder_name()
            elif self._get_value() == 1:
                owner = "None"
            else:
                owner = self._owned_elsewhere()
        except Exception:
            owner = "unknown"
        return f"<{type(self).__name__}(owner={owner})>"


class RLock(SemLock):
    """A recursive lock shared between processes, like ``threading.RLock``.

    The thread that acquired it must release it, as many times as it acquired it;
    releasing it otherwise raises ``AssertionError`` (as ``multiprocessing.RLock`` does).
    """

    __slots__ = ()

    def __init__(self, *, ctx: Any = None) -> None:
        super().__init__(RECURSIVE_MUTEX, 1, 1)

    def __repr__(self) -> str:
        try:
            if self._is_mine():
                owner, count = holder_name(), str(self._count())
            elif self._get_value() == 1:
                owner, count = "None", "0"
            else:
                owner, count = self._owned_elsewhere(), "nonzero"
        except Exception:
            owner, count = "unknown", "unknown"
        return f"<{type(self).__name__}({owner}, {count})>"


def _check_value(value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"semaphore value must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"semaphore initial value must be >= 0, not {value}")
    if value > SEM_VALUE_MAX:
        raise ValueError(f"semaphore initial value must be <= {SEM_VALUE_MAX}, not {value}")
