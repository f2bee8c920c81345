"""ShareableList: round trips of every supported type, in one process and across processes."""

from __future__ import annotations

import pickle
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # spawned children import the targets by name
import shm_targets as targets
from processing_core.shared_memory import ShareableList

pytestmark = pytest.mark.timeout(60)

VALUES = [
    0,
    1,
    -1,
    2**63 - 1,
    -(2**63),
    0.0,
    -2.5,
    float("inf"),
    True,
    False,
    None,
    "",
    "héllo wörld",
    "a\x00b\x00",
    b"",
    b"\x00\xff\x00",
    "x" * 100,
]


@pytest.fixture
def shared():  # type: ignore[no-untyped-def]
    sl = ShareableList(VALUES)
    yield sl
    sl.shm.close()
    sl.shm.unlink()


def test_every_type_round_trips(shared: ShareableList) -> None:
    assert list(shared) == VALUES
    assert [type(v) for v in shared] == [type(v) for v in VALUES]
    assert len(shared) == len(VALUES)
    assert shared[-1] == "x" * 100


def test_attach_by_name_sees_the_same_values(shared: ShareableList) -> None:
    other = ShareableList(name=shared.shm.name)
    try:
        assert list(other) == VALUES
        other[0] = 12345
        assert shared[0] == 12345
    finally:
        other.shm.close()


def test_items_change_type_within_their_room(shared: ShareableList) -> None:
    shared[0] = "short"
    shared[1] = b"8 bytes!"
    shared[11] = 3.25
    shared[-1] = "y" * 100
    assert shared[0] == "short" and shared[1] == b"8 bytes!" and shared[11] == 3.25
    assert shared[-1] == "y" * 100
    with pytest.raises(ValueError, match="exceeds"):
        shared[0] = "much longer than eight bytes"
    with pytest.raises(OverflowError):
        shared[0] = 2**64
    with pytest.raises(TypeError, match="list"):
        shared[0] = [1]  # type: ignore[assignment]
    with pytest.raises(IndexError):
        shared[len(VALUES)] = 1


def test_count_index_format_repr(shared: ShareableList) -> None:
    assert shared.count(None) == 1
    assert shared.index("héllo wörld") == 12
    with pytest.raises(ValueError):
        shared.index("absent")
    assert shared.format.startswith("qqqqqddd??x8s16s8s")
    assert repr(shared).startswith("ShareableList([0, 1, -1")
    assert shared.shm.name in repr(shared)


def test_pickle_attaches_by_name(shared: ShareableList) -> None:
    copy = pickle.loads(pickle.dumps(shared))
    try:
        assert list(copy) == VALUES
    finally:
        copy.shm.close()


def test_empty_list_and_bad_arguments() -> None:
    empty = ShareableList([])
    try:
        assert len(empty) == 0 and list(empty) == []
    finally:
        empty.shm.close()
        empty.shm.unlink()
    with pytest.raises(ValueError):
        ShareableList()
    with pytest.raises(TypeError):
        ShareableList([object()])  # type: ignore[list-item]


def test_child_fills_list_parent_reads(ctx) -> None:  # type: ignore[no-untyped-def]
    sl = ShareableList([0, 0.0, False, None, "--------", b"--------"])
    new = [7, 1.5, True, "str", "text", b"bytes"]
    try:
        p = ctx.Process(target=targets.fill_shareable_list, args=(sl, new))
        p.start()
        p.join(30)
        assert p.exitcode == 0
        assert list(sl) == new
    finally:
        sl.shm.close()
        sl.shm.unlink()
