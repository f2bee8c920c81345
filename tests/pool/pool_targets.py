"""Module-level functions for the pool tests (spawned workers import them by name)."""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import time
from typing import Any

import processing_core


def square(x: int) -> int:
    return x * x


def add(a: int, b: int) -> int:
    return a + b


def identity(x: Any) -> Any:
    return x


def pid_of(_x: object = None) -> int:
    return os.getpid()


def sleep_then(seconds: float, value: Any = None) -> Any:
    time.sleep(seconds)
    return value


def fail_on(x: int, bad: int = 3) -> int:
    if x == bad:
        raise ValueError(f"bad item {x}")
    return x


def raise_value_error(message: str = "boom") -> None:
    raise ValueError(message)


def kwargs_echo(*args: Any, **kwargs: Any) -> tuple[Any, Any]:
    return args, kwargs


# ---------------------------------------------------------------- crash matrix


def segfault(_x: object = None) -> None:
    ctypes.string_at(0)


def hard_exit(code: int = 7) -> None:
    os._exit(code)


def sigkill_self(_x: object = None) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def sys_exit(code: int = 5) -> None:
    sys.exit(code)


def die_on(x: int, bad: int = 13) -> int:
    if x == bad:
        os._exit(9)
    time.sleep(0.002)
    return x


def die_quickly_on(x: int, bad: int) -> int:
    if x == bad:
        os._exit(9)
    return x


class UnpicklableResult:
    """Pickling it raises (a result that cannot travel back)."""

    def __reduce__(self) -> Any:
        raise TypeError("this result refuses to be pickled")


class FailsToUnpickle:
    """Pickles fine; unpickling it raises (where it arrives)."""

    def __reduce__(self) -> Any:
        return (_refuse, ("no unpickling for you",))


def _refuse(message: str) -> None:
    raise RuntimeError(message)


class CrashesOnUnpickle:
    """Unpickling it kills the process that unpickles it."""

    def __reduce__(self) -> Any:
        return (os._exit, (11,))


class NeedsTwoArgs(Exception):
    """An exception whose constructor does not accept its own args again."""

    def __init__(self, a: int, b: int) -> None:
        super().__init__(f"{a}-{b}")


class UnpicklableError(Exception):
    """An exception that cannot be pickled."""

    def __init__(self) -> None:
        super().__init__("unpicklable")
        self.lock = __import__("threading").Lock()


def return_unpicklable(_x: object = None) -> UnpicklableResult:
    return UnpicklableResult()


def return_fails_to_unpickle(_x: object = None) -> FailsToUnpickle:
    return FailsToUnpickle()


def return_crashes_on_unpickle(_x: object = None) -> CrashesOnUnpickle:
    # Unpickled in the parent, this would kill the test run: the pool must not unpickle
    # results with os._exit; the test only sends this one to the worker as an argument.
    return CrashesOnUnpickle()


def raise_needs_two_args(_x: object = None) -> None:
    raise NeedsTwoArgs(1, 2)


def raise_unpicklable_error(_x: object = None) -> None:
    raise UnpicklableError()


# ------------------------------------------------------------------- extras


def record_init(value: str) -> None:
    global _INIT_VALUE
    _INIT_VALUE = value


_INIT_VALUE = "unset"


def read_init(_x: object = None) -> str:
    return _INIT_VALUE


def failing_init() -> None:
    raise RuntimeError("initializer failed")


_HOARD: list[bytes] = []


def hoard(megabytes: int) -> int:
    """Grow this worker's memory by ``megabytes`` and return its pid."""
    _HOARD.append(b"x" * (megabytes << 20))
    return os.getpid()


def nested_pool_sum(n: int) -> int:
    """Run a pool of our own inside a pool worker."""
    from processing_pool import Pool

    with Pool(2, context=processing_core.get_context("fork")) as inner:
        result = sum(inner.map(square, range(n)))
        inner.close()
        inner.join()
    return result


class ParentHostileError(Exception):
    """Unpickles in a worker, but not in the parent whose pid it carries."""

    def __init__(self, parent_pid: int) -> None:
        super().__init__(parent_pid)
        self.parent_pid = parent_pid

    def __reduce__(self) -> Any:
        return (_rebuild_hostile, (self.parent_pid,))


def _rebuild_hostile(parent_pid: int) -> ParentHostileError:
    if os.getpid() == parent_pid:
        raise RuntimeError("this exception refuses to be unpickled in the parent")
    return ParentHostileError(parent_pid)


def raise_parent_hostile(parent_pid: int) -> None:
    raise ParentHostileError(parent_pid)


def sleep_then_pid(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()
