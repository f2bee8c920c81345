"""``ShareableList``: a fixed-length list of simple values in shared memory.

Layout of the segment (all fields little-endian 64-bit words, so every item
starts 8-byte aligned)::

    count n | capacity[0..n) | kind[0..n) | item data, each in its own capacity

An ``int`` (signed 64-bit), ``float``, ``bool`` or ``None`` is stored in the first
word of its slot; a ``str`` (UTF-8) or ``bytes`` as a length word then its bytes.
Each slot has room for a length word and its creation value's bytes rounded up to a
word (at least one word).  Capacities are fixed when the list is created, so a later
value may change type, but a ``str``/``bytes`` value must fit its slot.
Lengths are stored, so values round-trip exactly (trailing NULs included).
"""

from __future__ import annotations

import struct
import types
from collections.abc import Iterable, Iterator
from typing import Any

from processing_core._shared_memory import SharedMemory

__all__ = ["ShareableList"]

_WORD = struct.Struct("<q")
_FLOAT = struct.Struct("<d")
_NONE, _INT, _FLOAT_KIND, _BOOL, _STR, _BYTES = range(6)
_KIND_OF = {type(None): _NONE, int: _INT, float: _FLOAT_KIND, bool: _BOOL, str: _STR, bytes: _BYTES}
_FORMAT_OF = {_NONE: "x", _INT: "q", _FLOAT_KIND: "d", _BOOL: "?"}
Item = int | float | bool | str | bytes | None


def _kind(value: object) -> int:
    try:
        return _KIND_OF[type(value)]
    except KeyError:
        raise TypeError(
            f"ShareableList holds int, float, bool, str, bytes and None, not {type(value).__name__}"
        ) from None


def _encoded(value: Item, kind: int) -> bytes:
    if kind == _STR:
        assert isinstance(value, str)
        return value.encode("utf-8", "surrogatepass")
    assert isinstance(value, bytes)
    return value


def _capacity(value: Item) -> int:
    # Every slot has room for a length word and at least one word of bytes, so that
    # short strings can replace numbers later (as in the standard library).
    kind = _kind(value)
    length = len(_encoded(value, kind)) if kind in (_STR, _BYTES) else 0
    return _WORD.size + max(_WORD.size, -(-length // _WORD.size) * _WORD.size)


class ShareableList:
    """A list of ``int``, ``float``, ``bool``, ``str``, ``bytes`` and ``None`` in shared memory.

    Args:
        sequence: the values of a new list (a new segment is created), or ``None``
            to attach to the existing list called ``name``.
        name: the segment's name (``None`` with a sequence: a unique name is chosen).
    """

    def __init__(self, sequence: Iterable[Item] | None = None, *, name: str | None = None) -> None:
        if sequence is None:
            if name is None:
                raise ValueError("ShareableList needs a sequence to create a list, or the name of one to attach to")
            self.shm = SharedMemory(name)
            self._load_layout()
            return
        values = list(sequence)
        capacities = [_capacity(value) for value in values]
        n = len(values)
        size = _WORD.size * (1 + 2 * n) + sum(capacities)
        self.shm = SharedMemory(name, create=True, size=size)
        buf = self.shm.buf
        _WORD.pack_into(buf, 0, n)
        for i, capacity in enumerate(capacities):
            _WORD.pack_into(buf, _WORD.size * (1 + i), capacity)
        self._load_layout()
        for i, value in enumerate(values):
            self[i] = value

    def _load_layout(self) -> None:
        buf = self.shm.buf
        n = _WORD.unpack_from(buf, 0)[0]
        header = _WORD.size * (1 + 2 * n)
        if n < 0 or header > len(buf):
            raise ValueError(f"shared memory {self.shm.name!r} does not hold a ShareableList")
        self._len = n
        self._capacities = [_WORD.unpack_from(buf, _WORD.size * (1 + i))[0] for i in range(n)]
        self._offsets = []
        offset = header
        for capacity in self._capacities:
            self._offsets.append(offset)
            offset += capacity
        if offset > len(buf):
            raise ValueError(f"shared memory {self.shm.name!r} does not hold a ShareableList")

    def _index(self, position: int) -> int:
        if not isinstance(position, int):
            raise TypeError(f"ShareableList indices must be integers, not {type(position).__name__}")
        index = position + self._len if position < 0 else position
        if not 0 <= index < self._len:
            raise IndexError("ShareableList index out of range")
        return index

    def _kind_offset(self, index: int) -> int:
        return _WORD.size * (1 + self._len + index)

    def __getitem__(self, position: int) -> Item:
        index = self._index(position)
        buf = self.shm.buf
        kind = _WORD.unpack_from(buf, self._kind_offset(index))[0]
        offset = self._offsets[index]
        if kind == _INT:
            return int(_WORD.unpack_from(buf, offset)[0])
        if kind == _FLOAT_KIND:
            return float(_FLOAT.unpack_from(buf, offset)[0])
        if kind == _BOOL:
            return bool(_WORD.unpack_from(buf, offset)[0])
        if kind == _NONE:
            return None
        length = _WORD.unpack_from(buf, offset)[0]
        data = bytes(buf[offset + _WORD.size : offset + _WORD.size + length])
        return data.decode("utf-8", "surrogatepass") if kind == _STR else data

    def __setitem__(self, position: int, value: Item) -> None:
        index = self._index(position)
        kind = _kind(value)
        buf = self.shm.buf
        offset = self._offsets[index]
        if kind == _INT:
            try:
                _WORD.pack_into(buf, offset, value)
            except struct.error:
                raise OverflowError(f"{value!r} does not fit the 64-bit integers of a ShareableList") from None
        elif kind == _FLOAT_KIND:
            _FLOAT.pack_into(buf, offset, value)
        elif kind == _BOOL:
            _WORD.pack_into(buf, offset, int(bool(value)))
        elif kind in (_STR, _BYTES):
            data = _encoded(value, kind)
            room = self._capacities[index] - _WORD.size
            if len(data) > room:
                raise ValueError(
                    f"{type(value).__name__} item of {len(data)} bytes exceeds the {room} bytes "
                    f"available in item {index} of the ShareableList"
                )
            buf[offset + _WORD.size : offset + _WORD.size + len(data)] = data
            _WORD.pack_into(buf, offset, len(data))
        _WORD.pack_into(buf, self._kind_offset(index), kind)

    def __len__(self) -> int:
        return self._len

    def __iter__(self) -> Iterator[Item]:
        for index in range(self._len):
            yield self[index]

    def count(self, value: Item) -> int:
        """Return the number of items equal to ``value``."""
        return sum(1 for item in self if item == value)

    def index(self, value: Item) -> int:
        """Return the position of the first item equal to ``value`` (``ValueError`` if none)."""
        for position, item in enumerate(self):
            if item == value:
                return position
        raise ValueError(f"{value!r} not in this container")

    @property
    def format(self) -> str:
        """A ``struct``-style description of the current items (for display)."""
        parts = []
        for index in range(self._len):
            kind = _WORD.unpack_from(self.shm.buf, self._kind_offset(index))[0]
            if kind in _FORMAT_OF:
                parts.append(_FORMAT_OF[kind])
            else:
                parts.append(f"{self._capacities[index] - _WORD.size}s")
        return "".join(parts)

    def __reduce__(self) -> tuple[Any, ...]:
        return (_attach, (self.shm.name,))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({list(self)}, name={self.shm.name!r})"

    def __class_getitem__(cls, item: Any) -> types.GenericAlias:
        return types.GenericAlias(cls, item)


def _attach(name: str) -> ShareableList:
    return ShareableList(name=name)
