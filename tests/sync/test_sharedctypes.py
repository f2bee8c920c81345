"""Synchronized shared ctypes: Value, Array, synchronized(), copy(), wrappers across processes."""

from __future__ import annotations

import ctypes
import pickle
import re

import processing_sync as ps
import pytest
import sync_twins
from sync_twins import Backend, Point


def test_value_wrapper_repr_and_accessors() -> None:
    value = ps.Value("i", 7)
    assert repr(value) == "<Synchronized wrapper for c_int(7)>"
    assert value.value == 7
    value.value = 9
    assert value.get_obj().value == 9
    assert repr(value.get_lock()) == "<RLock(None, 0)>"
    assert value.getobj() is value.get_obj()
    assert value.getlock() is value.get_lock()
    with value as taken:
        assert taken is True
        assert repr(value.get_lock()) == "<RLock(MainProcess, 1)>"
    assert value.acquire() is True
    value.release()


def test_value_lock_choices() -> None:
    raw = ps.Value("d", 1.5, lock=False)
    assert repr(raw) == "c_double(1.5)"
    lock = ps.Lock()
    shared = ps.Value("h", 3, lock=lock)
    assert shared.get_lock() is lock
    with pytest.raises(TypeError, match="lock"):
        ps.Value("i", 1, lock="yes")
    with pytest.raises(TypeError):
        ps.Value("i", 1, flavour=True)  # type: ignore[call-arg]


def test_value_of_a_ctypes_type_and_a_structure() -> None:
    assert ps.Value(ctypes.c_long, 5).value == 5
    point = ps.Value(Point, 1.0, 2.0)
    assert type(point).__name__ == "SynchronizedPoint"
    assert re.fullmatch(r"<SynchronizedPoint wrapper for <sync_twins\.Point object at 0x[0-9a-f]+>>", repr(point))
    assert (point.x, point.y) == (1.0, 2.0)
    point.x = 4.0
    assert point.get_obj().x == 4.0


def test_array_indexing_slicing_and_length() -> None:
    array = ps.Array("i", [1, 2, 3, 4, 5])
    assert re.fullmatch(r"<SynchronizedArray wrapper for <.*c_int_Array_5 object at 0x[0-9a-f]+>>", repr(array))
    assert len(array) == 5
    assert array[0] == 1
    assert array[-1] == 5
    assert array[1:3] == [2, 3]
    array[1:3] = [20, 30]
    array[0] = 10
    assert list(array) == [10, 20, 30, 4, 5]
    assert array[::2] == [10, 30, 5]
    with pytest.raises(IndexError):
        array[5]
    zeros = ps.Array("d", 3)
    assert zeros[:] == [0.0, 0.0, 0.0]


def test_char_array_value_and_raw() -> None:
    text = ps.Array("c", b"hello world")
    assert type(text).__name__ == "SynchronizedString"
    assert text.value == b"hello world"
    text.value = b"hi"
    assert text.value == b"hi"
    assert text.raw[:3] == b"hi\x00"
    text.raw = b"abcdefghijk"
    assert text.value == b"abcdefghijk"
    assert ps.Array("c", 4, lock=False).raw == b"\x00" * 4


def test_synchronized_and_copy() -> None:
    raw = ps.Value("i", 3, lock=False)
    wrapped = ps.synchronized(raw)
    assert isinstance(wrapped, ps.Synchronized)
    assert wrapped.get_obj() is raw
    twin = ps.copy(raw)
    twin.value = 4
    assert raw.value == 3
    assert twin.value == 4
    arr = ps.copy(ps.Array("i", [1, 2], lock=False))
    assert list(arr) == [1, 2]
    assert isinstance(ps.synchronized(ps.Array("i", 2, lock=False)), ps.SynchronizedArray)
    assert isinstance(ps.synchronized(ps.Array("c", 2, lock=False)), ps.SynchronizedString)
    with pytest.raises(TypeError):
        ps.synchronized(3)


def test_wrappers_refuse_pickling_outside_a_child_start() -> None:
    for obj in (ps.Value("i", 1), ps.Array("i", 2), ps.Array("c", 2), ps.Value(Point)):
        with pytest.raises(RuntimeError, match=type(obj).__name__):
            pickle.dumps(obj)


def test_children_see_and_change_shared_values(process_backend: Backend) -> None:
    value = ps.Value("q", 2**40)
    array = ps.Array("i", [1, 2, 3])
    text = ps.Array("c", 16)
    point = ps.Value(Point, 1.0, 1.0)
    workers = [
        process_backend.start(sync_twins.check_value, value, 2**40),
        process_backend.start(sync_twins.double_array, array),
        process_backend.start(sync_twins.write_string, text, b"from child"),
        process_backend.start(sync_twins.move_point, point, 0.5),
    ]
    assert process_backend.join(*workers) == [0, 0, 0, 0]
    assert array[:] == [2, 4, 6]
    assert text.value == b"from child"
    assert (point.x, point.y) == (1.5, 0.5)


def test_a_value_with_a_plain_lock_counts_across_processes(process_backend: Backend) -> None:
    counter = ps.Value("i", 0, lock=ps.Lock())
    workers = [process_backend.start(sync_twins.increment_under_plain_lock, counter, 300) for _ in range(3)]
    assert process_backend.join(*workers) == [0, 0, 0]
    assert counter.value == 900


def test_contexts_offer_value_and_array() -> None:
    from processing_core._context import get_context

    ctx = get_context("forkserver")
    assert ctx.Value("i", 3).value == 3
    assert list(ctx.Array("i", [1, 2])) == [1, 2]


def test_wrappers_work_with_a_foreign_lock() -> None:
    """A lock that is not one of ours (here a thread lock) takes the generic path."""
    import threading

    value = ps.Value("i", 1, lock=threading.RLock())
    value.value += 1
    assert value.value == 2
    array = ps.Array("i", 3, lock=threading.Lock())
    array[1] = 5
    assert array[:] == [0, 5, 0]
    with array:
        assert array.get_obj()[1] == 5
