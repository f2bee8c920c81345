"""RawValue and RawArray: typecodes, initialisers, sharing with children, pickling rules."""

from __future__ import annotations

import ctypes
import gc
import pickle
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # spawned children import the targets by name
import shm_targets as targets
from processing_core._heap import heap
from processing_core._sharedctypes import RawArray, RawValue, typecode_to_type

pytestmark = pytest.mark.timeout(60)

SAMPLES = {"c": b"x", "u": "é", "b": -5, "B": 250, "h": -300, "H": 60000, "i": -(2**31), "I": 2**32 - 1}
SAMPLES |= {"l": -(2**63), "L": 2**64 - 1, "q": -(2**63), "Q": 2**64 - 1, "f": 1.5, "d": 2.25}


def test_every_typecode_maps_to_its_ctype_and_round_trips() -> None:
    assert set(typecode_to_type) == set("cubBhHiIlLqQfd")
    for code, sample in SAMPLES.items():
        value = RawValue(code, sample)
        assert isinstance(value, typecode_to_type[code])
        assert value.value == sample
        assert RawValue(code).value in (0, 0.0, b"\x00", "\x00")


def test_ctypes_types_and_structures() -> None:
    class Point(ctypes.Structure):
        _fields_ = [("x", ctypes.c_int), ("y", ctypes.c_double)]

    point = RawValue(Point, 3, 4.5)
    assert (point.x, point.y) == (3, 4.5)
    assert RawValue(ctypes.c_bool, True).value is True


def test_arrays_from_size_and_from_initializer() -> None:
    zeros = RawArray("i", 5)
    assert list(zeros) == [0] * 5
    data = RawArray("d", range(4))
    assert list(data) == [0.0, 1.0, 2.0, 3.0]
    text = RawArray("c", b"hello")
    assert text.value == b"hello" and text.raw == b"hello"
    wide = RawArray("u", "wörld")
    assert wide.value == "wörld"
    assert len(RawArray(ctypes.c_ubyte, 0)) == 0


def test_reused_memory_starts_zeroed() -> None:
    for _ in range(3):
        array = RawArray("q", [7] * 8)
        del array
        gc.collect()
        assert list(RawArray("q", 8)) == [0] * 8
        assert RawValue("q").value == 0


def test_ten_thousand_values_use_one_arena() -> None:
    before = heap.arenas_created
    values = [RawValue("i", i) for i in range(10000)]
    assert heap.arenas_created - before <= 1
    assert sum(v.value for v in values) == sum(range(10000))


@pytest.mark.parametrize("bad", ["z", "ii", 3, int])
def test_bad_typecodes_are_named(bad: object) -> None:
    with pytest.raises((ValueError, TypeError), match="typecode"):
        RawValue(bad)  # type: ignore[arg-type]


def test_negative_length_is_refused() -> None:
    with pytest.raises(ValueError, match="negative"):
        RawArray("i", -1)


def test_pickling_outside_a_child_start_is_refused() -> None:
    from processing_core._reduction import ForkingPickler

    with pytest.raises(RuntimeError, match="c_int"):
        ForkingPickler.dumps(RawValue("i", 1))
    with pytest.raises(RuntimeError):
        ForkingPickler.dumps(RawArray("i", 3))
    # The plain pickler is refused too: the object's memory cannot travel that way.
    with pytest.raises(RuntimeError):
        pickle.dumps(RawValue("i", 9))


def test_child_writes_are_seen_by_the_parent(ctx) -> None:  # type: ignore[no-untyped-def]
    value = RawValue("d", 0.0)
    array = RawArray("d", 10)
    p = ctx.Process(target=targets.set_raw, args=(value, array, 2.5))
    p.start()
    p.join(30)
    assert p.exitcode == 0
    assert value.value == 2.5
    assert list(array) == [i * 2.5 for i in range(10)]
