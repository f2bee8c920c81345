"""Shared ctypes without locks: ``RawValue`` and ``RawArray``, on the shared heap.

A raw object is an ordinary ctypes object whose memory is a block of the shared
heap (see :mod:`._heap`), so reads and writes from Python cost what they cost on any
ctypes object.  Fork children share it by inheritance; spawn and forkserver children
get it when it is passed to them at start (the arena's descriptor travels with it).
"""

from __future__ import annotations

import ctypes
from typing import Any

from processing_core._context import register_context_method
from processing_core._heap import Block, heap
from processing_core._reduction import ForkingPickler, assert_spawning

__all__ = ["RawArray", "RawValue", "typecode_to_type"]

#: The typecodes of ``processing`` 0.52 (those of the :mod:`array` module) as ctypes.
typecode_to_type: dict[str, type[Any]] = {
    "c": ctypes.c_char,
    "u": ctypes.c_wchar,
    "b": ctypes.c_byte,
    "B": ctypes.c_ubyte,
    "h": ctypes.c_short,
    "H": ctypes.c_ushort,
    "i": ctypes.c_int,
    "I": ctypes.c_uint,
    "l": ctypes.c_long,
    "L": ctypes.c_ulong,
    "q": ctypes.c_longlong,
    "Q": ctypes.c_ulonglong,
    "f": ctypes.c_float,
    "d": ctypes.c_double,
}

_CTYPES_BASES = (ctypes._SimpleCData, ctypes.Structure, ctypes.Union, ctypes.Array)
_SIZES = {type_: ctypes.sizeof(type_) for type_ in typecode_to_type.values()}
_registered: set[type] = set()
_memset = ctypes.memset
_addressof = ctypes.addressof


def _ctype(typecode_or_type: str | type) -> type[Any]:
    if isinstance(typecode_or_type, str):
        try:
            return typecode_to_type[typecode_or_type]
        except KeyError:
            codes = " ".join(typecode_to_type)
            raise ValueError(f"unknown typecode {typecode_or_type!r}: use one of {codes}, or a ctypes type") from None
    if isinstance(typecode_or_type, type) and issubclass(typecode_or_type, _CTYPES_BASES):
        return typecode_or_type
    raise TypeError(f"expected a typecode or a ctypes type, not {typecode_or_type!r}")


def _on_block(type_: type[Any], block: Block) -> Any:
    # from_address rather than from_buffer (ten times cheaper): the block keeps its
    # arena, and so the mapping, alive for as long as the object lives.
    obj = type_.from_address(block.addr)
    obj._wrapper = block  # the block is freed when the ctypes object is collected
    if type_ not in _registered:
        ForkingPickler.register(type_, _reduce_ctype)
        _registered.add(type_)
    return obj


def _new_value(type_: type[Any]) -> Any:
    """A zero-filled instance of ``type_`` in a fresh block of the shared heap."""
    block = heap.malloc(ctypes.sizeof(type_))
    obj = _on_block(type_, block)
    if block.reused:
        _memset(_addressof(obj), 0, block.size)
    return obj


def RawValue(typecode_or_type: str | type, *args: Any) -> Any:
    """Return a ctypes object in shared memory, with no lock.

    Args:
        typecode_or_type: a typecode (``c u b B h H i I l L q Q f d``) or a ctypes type.
        *args: passed to the type's constructor (none: zero).
    """
    type_ = typecode_to_type.get(typecode_or_type) if isinstance(typecode_or_type, str) else None
    if type_ is not None and len(args) == 1:
        # A simple typecode with a value: the constructor sets every byte, no zeroing needed.
        obj = _on_block(type_, heap.malloc(_SIZES[type_]))
        obj.value = args[0]
        return obj
    obj = _new_value(type_ or _ctype(typecode_or_type))
    if args:
        obj.__init__(*args)
    return obj


def RawArray(typecode_or_type: str | type, size_or_initializer: Any) -> Any:
    """Return a ctypes array in shared memory, with no lock.

    Args:
        typecode_or_type: a typecode (``c u b B h H i I l L q Q f d``) or a ctypes type.
        size_or_initializer: the length of a zero-filled array, or a sequence to copy.
    """
    type_ = _ctype(typecode_or_type)
    if isinstance(size_or_initializer, int):
        if size_or_initializer < 0:
            raise ValueError(f"an array length must not be negative, not {size_or_initializer}")
        return _new_value(type_ * size_or_initializer)
    values = list(size_or_initializer) if not isinstance(size_or_initializer, (bytes, str)) else size_or_initializer
    obj = _new_value(type_ * len(values))
    obj.__init__(*values)
    return obj


def _reduce_ctype(obj: Any) -> tuple[Any, ...]:
    assert_spawning(obj)
    if isinstance(obj, ctypes.Array):
        return (_rebuild_ctype, (obj._type_, obj._wrapper, obj._length_))  # type: ignore[attr-defined]
    return (_rebuild_ctype, (type(obj), obj._wrapper, None))


def _context_factory(function: Any) -> Any:
    def bound(ctx: Any, *args: Any) -> Any:
        return function(*args)

    bound.__name__ = function.__name__
    bound.__doc__ = function.__doc__
    return bound


register_context_method("RawValue", _context_factory(RawValue))
register_context_method("RawArray", _context_factory(RawArray))


def _rebuild_ctype(type_: type[Any], block: Block, length: int | None) -> Any:
    if length is not None:
        type_ = type_ * length
    return _on_block(type_, block)
