"""The native hot paths of locks and synchronized wrappers (``native/fast_types.h``).

``with lock:``, ``release()``, ``Value.value`` and ``Array[i]`` are C methods and slots:
these tests pin down what they must keep doing, whatever path they take: take the
lock around every access (ours or a foreign one), give it back when the access fails,
wait when the lock is busy, and refuse objects that were never initialised.
"""

from __future__ import annotations

import ctypes
import gc
import threading
import time
import weakref
from typing import Any

import processing_sync as ps
import pytest
from processing_core._semaphore import SemLock

WAIT = 30.0


class RecordingLock:
    """A lock that is not one of ours, and counts how it is used."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.entered = 0
        self.exited: list[tuple[Any, ...]] = []

    def acquire(self, block: bool = True, timeout: float | None = None) -> bool:
        return self.lock.acquire(block, -1 if timeout is None else timeout)

    def release(self) -> None:
        self.lock.release()

    def __enter__(self) -> bool:
        self.entered += 1
        return self.lock.__enter__()

    def __exit__(self, *exc_info: Any) -> None:
        self.exited.append(exc_info)
        self.lock.__exit__(*exc_info)


def _free(lock: Any) -> bool:
    """Whether another thread could take ``lock`` now (an RLock is re-entrant for us)."""
    result: list[bool] = []

    def attempt() -> None:
        taken = lock.acquire(False)
        if taken:
            lock.release()
        result.append(taken)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join(WAIT)
    return result == [True]


@pytest.mark.parametrize("lock_kind", ["RLock", "Lock"])
def test_a_failed_access_gives_the_lock_back(lock_kind: str) -> None:
    lock = getattr(ps, lock_kind)()
    value = ps.Value("i", 1, lock=lock)
    array = ps.Array("i", [1, 2, 3], lock=lock)
    with pytest.raises(TypeError):
        value.value = "not a number"
    assert _free(lock)
    with pytest.raises(IndexError):
        array[7]
    assert _free(lock)
    with pytest.raises(IndexError):
        array[-4] = 1
    assert _free(lock)
    with pytest.raises(ValueError):
        array[0:2] = [1, 2, 3]  # a slice cannot change the array's length
    assert _free(lock)
    with pytest.raises(TypeError):
        del array[0]
    assert _free(lock)
    assert (value.value, array[:]) == (1, [1, 2, 3])


def test_a_foreign_lock_is_taken_around_every_access() -> None:
    lock = RecordingLock()
    value = ps.Value("d", 0.5, lock=lock)
    assert value.value == 0.5
    value.value = 2.5
    with value:
        pass
    array = ps.Array("b", [1, 2, 3], lock=lock)
    array[0] = 9
    assert (array[0], array[1:], list(array)) == (9, [2, 3], [9, 2, 3])
    assert len(array) == 3  # the length is fixed: no lock
    # value read, value written, with; array: store, index, slice, then 3 items + the end of iteration.
    assert lock.entered == 10
    assert lock.exited == [(None, None, None)] * 10


def test_a_foreign_lock_gets_the_failed_access_back() -> None:
    lock = RecordingLock()
    array = ps.Array("i", 2, lock=lock)
    with pytest.raises(IndexError):
        array[5]
    assert lock.entered == 1 and len(lock.exited) == 1
    assert _free(lock.lock)


@pytest.mark.parametrize("access", ["value", "array", "with"])
def test_an_access_waits_for_a_busy_lock(access: str) -> None:
    value = ps.Value("i", 0)
    array = ps.Array("i", 1, lock=value.get_lock())
    holding, holder_done = threading.Event(), threading.Event()

    def hold() -> None:
        with value.get_lock():
            holding.set()
            time.sleep(0.3)  # long enough that an access not taking the lock reads 0
            value.get_obj().value = 42
            array.get_obj()[0] = 42
        holder_done.set()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(WAIT)
    if access == "value":
        seen = value.value
    elif access == "array":
        seen = array[0]
    else:
        with value:
            seen = value.get_obj().value
    holder.join(WAIT)
    assert seen == 42
    assert holder_done.is_set()


def test_objects_never_initialised_raise_instead_of_crashing() -> None:
    bare_lock = SemLock.__new__(SemLock)
    with pytest.raises(ValueError, match="not initialised"):
        bare_lock.__enter__()
    with pytest.raises(ValueError, match="not initialised"):
        bare_lock.release()
    bare_value = ps.Synchronized.__new__(ps.Synchronized)
    with pytest.raises(ValueError, match="not initialised"):
        bare_value.value
    with pytest.raises(ValueError, match="not initialised"):
        bare_value.__enter__()
    bare_array = ps.SynchronizedArray.__new__(ps.SynchronizedArray)
    with pytest.raises(ValueError, match="not initialised"):
        len(bare_array)
    with pytest.raises(ValueError, match="not initialised"):
        bare_array[0]
    assert bare_value.get_obj() is None and bare_value.get_lock() is None


def test_wrappers_and_locks_are_freed() -> None:
    value = ps.Value(ctypes.c_int, 3)
    lock = ps.Lock()
    watched = [weakref.ref(value), weakref.ref(value.get_lock()), weakref.ref(lock)]
    del value, lock
    gc.collect()
    assert [ref() for ref in watched] == [None, None, None]


def test_recursion_is_counted_by_the_holder_alone() -> None:
    lock = ps.RLock()
    with lock:
        with lock:
            assert repr(lock) == "<RLock(MainProcess, 2)>"
            assert not _free(lock)
        assert repr(lock) == "<RLock(MainProcess, 1)>"
        assert not _free(lock)
        errors: list[BaseException] = []

        def release_from_elsewhere() -> None:
            try:
                lock.release()
            except AssertionError as exc:
                errors.append(exc)

        thread = threading.Thread(target=release_from_elsewhere)
        thread.start()
        thread.join(WAIT)
        assert len(errors) == 1  # another thread may not release it
        assert repr(lock) == "<RLock(MainProcess, 1)>"
    assert repr(lock) == "<RLock(None, 0)>"
    assert _free(lock)
    with pytest.raises(AssertionError):
        lock.release()
