"""Synchronized shared ctypes: ``Value``, ``Array``, ``synchronized()``, ``copy()``.

The objects live in ``processing_core``'s shared heap (``RawValue``/``RawArray``); the
wrappers here pair one with a process-shared lock and take the lock around every
access.  A wrapper, like its lock, can be handed to a child when the child is created;
pickling one at any other time raises ``RuntimeError`` naming its type.
"""

from __future__ import annotations

import ctypes
from typing import Any

from processing_core._fast_types import LockedArray, LockedBase, LockedValue
from processing_core._reduction import assert_spawning

from processing_sync._locks import RLock

__all__ = [
    "Array",
    "Synchronized",
    "SynchronizedArray",
    "SynchronizedBase",
    "SynchronizedString",
    "Value",
    "copy",
    "synchronized",
]


def _raw() -> Any:
    from processing_core import _sharedctypes

    return _sharedctypes


def _lock_for(lock: Any) -> Any:
    if lock is True or lock is None:
        return RLock()
    if not hasattr(lock, "acquire") or not hasattr(lock, "release"):
        raise TypeError(f"lock must be True, False or a lock with acquire() and release(), not {lock!r}")
    return lock


def Value(typecode_or_type: str | type, *args: Any, lock: Any = True, ctx: Any = None) -> Any:
    """Return a ctypes object in shared memory, wrapped with a lock.

    Args:
        typecode_or_type: An ``array`` typecode such as ``'i'`` or ``'d'``, or a ctypes type.
        *args: Passed to the ctypes type's constructor.
        lock: ``True`` (the default) for a new :class:`RLock`, a lock to use, or
            ``False`` for the raw ctypes object with no lock.
        ctx: Accepted for compatibility with ``multiprocessing``; not needed.

    Returns:
        A :class:`Synchronized` wrapper (or the raw object when ``lock`` is ``False``).
    """
    obj = _raw().RawValue(typecode_or_type, *args)
    if lock is False:
        return obj
    return synchronized(obj, _lock_for(lock))


def Array(typecode_or_type: str | type, size_or_initializer: Any, *, lock: Any = True, ctx: Any = None) -> Any:
    """Return a ctypes array in shared memory, wrapped with a lock.

    Args:
        typecode_or_type: An ``array`` typecode such as ``'i'`` or ``'c'``, or a ctypes type.
        size_or_initializer: The length of a zero-filled array, or a sequence to copy.
        lock: ``True`` (the default) for a new :class:`RLock`, a lock to use, or
            ``False`` for the raw ctypes array with no lock.
        ctx: Accepted for compatibility with ``multiprocessing``; not needed.

    Returns:
        A :class:`SynchronizedArray` (a :class:`SynchronizedString` for ``'c'``), or the
        raw array when ``lock`` is ``False``.
    """
    obj = _raw().RawArray(typecode_or_type, size_or_initializer)
    if lock is False:
        return obj
    return synchronized(obj, _lock_for(lock))


def copy(obj: Any) -> Any:
    """Return a copy of the ctypes object ``obj`` in shared memory (without a lock)."""
    new = _raw().RawValue(type(obj))
    ctypes.memmove(ctypes.addressof(new), ctypes.addressof(obj), ctypes.sizeof(obj))
    return new


def synchronized(obj: Any, lock: Any = None, ctx: Any = None) -> SynchronizedBase:
    """Wrap the ctypes object ``obj`` with a lock.

    Args:
        obj: A ctypes object, normally from ``RawValue``/``RawArray``.
        lock: The lock to use; a new :class:`RLock` if omitted.
        ctx: Accepted for compatibility with ``multiprocessing``; not needed.

    Returns:
        :class:`Synchronized` for a simple value, :class:`SynchronizedArray` for an
        array, :class:`SynchronizedString` for a ``c_char`` array, and for a
        ``Structure`` a generated ``Synchronized<Name>`` class with one locked property
        per field.
    """
    if isinstance(obj, SynchronizedBase):
        raise TypeError(f"{obj!r} is already synchronized")
    if isinstance(obj, ctypes._SimpleCData):
        return Synchronized(obj, lock)
    if isinstance(obj, ctypes.Array):
        if obj._type_ is ctypes.c_char:
            return SynchronizedString(obj, lock)
        return SynchronizedArray(obj, lock)
    if isinstance(obj, (ctypes.Structure, ctypes.Union)):
        return _structure_wrapper(type(obj))(obj, lock)
    raise TypeError(f"synchronized() needs a ctypes object, not {type(obj).__name__}")


class SynchronizedBase(LockedBase):
    """A shared ctypes object together with the lock that guards it.

    ``with wrapper:`` takes the lock (a C method of the native base, ``LockedBase``,
    which also holds ``_obj`` and ``_lock``).

    Args:
        obj: The ctypes object.
        lock: The lock; a new :class:`RLock` if omitted.
    """

    __slots__ = ("__weakref__", "acquire", "release")

    def __init__(self, obj: Any, lock: Any = None, ctx: Any = None) -> None:
        lock = _lock_for(lock)
        self._bind(obj, lock)  # the native base takes a lock of ours through its handle
        self.acquire = lock.acquire
        self.release = lock.release

    def __reduce__(self) -> tuple[Any, ...]:
        assert_spawning(self)
        return synchronized, (self._obj, self._lock)

    def get_obj(self) -> Any:
        """Return the wrapped ctypes object (accessing it directly takes no lock)."""
        return self._obj

    def get_lock(self) -> Any:
        """Return the lock that guards the object."""
        return self._lock

    #: 0.52 name of :meth:`get_obj`.
    getobj = get_obj
    #: 0.52 name of :meth:`get_lock`.
    getlock = get_lock

    def __repr__(self) -> str:
        return f"<{type(self).__name__} wrapper for {self._obj!r}>"


class Synchronized(SynchronizedBase, LockedValue):
    """A locked shared simple value (``Value('i', 7)``); read and write ``.value``.

    ``value`` is read and written under the lock by the native base (``LockedValue``).
    """

    __slots__ = ()


class SynchronizedArray(SynchronizedBase, LockedArray):
    """A locked shared array: indexing and slicing each take the lock; ``len()`` does not
    need it (the length is fixed).

    The accesses are C slots of the native base (``LockedArray``).
    """

    __slots__ = ()


class SynchronizedString(SynchronizedArray):
    """A locked shared ``c_char`` array, with ``value`` (up to the first NUL) and ``raw``."""

    __slots__ = ()

    @property
    def value(self) -> bytes:
        """The bytes up to the first NUL, read under the lock."""
        with self:
            return bytes(self._obj.value)

    @value.setter
    def value(self, new: bytes) -> None:
        with self:
            self._obj.value = new

    @property
    def raw(self) -> bytes:
        """Every byte of the array, read under the lock."""
        with self:
            return bytes(self._obj.raw)

    @raw.setter
    def raw(self, new: bytes) -> None:
        with self:
            self._obj.raw = new


_structure_wrappers: dict[type, type[SynchronizedBase]] = {}


def _locked_field(name: str) -> property:
    def get(self: SynchronizedBase) -> Any:
        with self:
            return getattr(self._obj, name)

    def set_(self: SynchronizedBase, value: Any) -> None:
        with self:
            setattr(self._obj, name, value)

    return property(get, set_, doc=f"The field {name!r}, read and written under the lock.")


def _structure_wrapper(cls: type) -> type[SynchronizedBase]:
    """Return (building once) the ``Synchronized<Name>`` wrapper class of a ctypes structure."""
    wrapper = _structure_wrappers.get(cls)
    if wrapper is None:
        fields = {name: _locked_field(name) for name, *_ in getattr(cls, "_fields_", ())}
        wrapper = type(f"Synchronized{cls.__name__}", (SynchronizedBase,), fields)
        _structure_wrappers[cls] = wrapper
    return wrapper
