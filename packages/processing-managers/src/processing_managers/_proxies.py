"""The proxy types of ``SyncManager``, and the objects they stand for in the server."""

from __future__ import annotations

import array
import time
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

from processing_managers._proxy import BaseProxy, MakeProxyType


class Namespace:
    """A plain object with attributes, as ``Manager().Namespace()`` shares it."""

    def __init__(self, **kwargs: Any) -> None:
        self.__dict__.update(kwargs)

    def __repr__(self) -> str:
        items = sorted((name, value) for name, value in self.__dict__.items() if not name.startswith("_"))
        return f"{type(self).__name__}({', '.join(f'{name}={value!r}' for name, value in items)})"


class SharedValue:
    """What ``Manager().Value(typecode, value)`` keeps in the server."""

    def __init__(self, typecode: str, value: Any, lock: bool = True) -> None:
        self._typecode = typecode
        self._value = value

    def get(self) -> Any:
        """Return the value."""
        return self._value

    def set(self, value: Any) -> None:
        """Replace the value."""
        self._value = value

    def __repr__(self) -> str:
        return f"Value({self._typecode!r}, {self._value!r})"  # as 0.52 printed it

    value = property(get, set)


def SharedArray(typecode: str, sequence: Any, lock: bool = True) -> array.array:
    """What ``Manager().Array(typecode, sequence)`` keeps in the server."""
    return array.array(typecode, sequence)


class IteratorProxy(BaseProxy):
    """Proxy of an iterator or generator living in the server."""

    _exposed_ = ("__next__", "send", "throw", "close")

    def __iter__(self) -> IteratorProxy:
        return self

    def __next__(self, *args: Any) -> Any:
        return self._callmethod("__next__", args)

    def send(self, *args: Any) -> Any:
        """Send a value into the generator."""
        return self._callmethod("send", args)

    def throw(self, *args: Any) -> Any:
        """Raise an exception inside the generator."""
        return self._callmethod("throw", args)

    def close(self, *args: Any) -> Any:
        """Close the generator."""
        return self._callmethod("close", args)


class AcquirerProxy(BaseProxy):
    """Proxy of a lock or semaphore living in the server."""

    _exposed_: ClassVar[tuple[str, ...] | None] = ("acquire", "release")

    def acquire(self, blocking: bool = True, timeout: float | None = None, *, block: bool | None = None) -> bool:
        """Acquire; ``block`` is the 0.52 spelling of ``blocking``."""
        if block is not None:
            blocking = block
        args: tuple[Any, ...] = (blocking,) if timeout is None else (blocking, timeout)
        return bool(self._callmethod("acquire", args))

    def release(self) -> None:
        """Release."""
        self._callmethod("release")

    def __enter__(self) -> bool:
        return bool(self._callmethod("acquire"))

    def __exit__(self, *exc: object) -> None:
        self._callmethod("release")


class ConditionProxy(AcquirerProxy):
    """Proxy of a condition variable living in the server."""

    _exposed_: ClassVar[tuple[str, ...] | None] = ("acquire", "release", "wait", "notify", "notify_all")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until notified or until ``timeout`` seconds have passed."""
        return bool(self._callmethod("wait", (timeout,)))

    def notify(self, n: int = 1) -> None:
        """Wake up to ``n`` waiters."""
        self._callmethod("notify", (n,))

    def notify_all(self) -> None:
        """Wake every waiter."""
        self._callmethod("notify_all")

    notifyAll = notify_all  # the 0.52 name

    def wait_for(self, predicate: Callable[[], Any], timeout: float | None = None) -> Any:
        """Wait until ``predicate()`` is true (checked here, after each wake-up)."""
        result = predicate()
        if result:
            return result
        deadline = None if timeout is None else time.monotonic() + timeout
        while not result:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                break
            self.wait(remaining)
            result = predicate()
        return result


class EventProxy(BaseProxy):
    """Proxy of an event living in the server."""

    _exposed_ = ("is_set", "set", "clear", "wait")

    def is_set(self) -> bool:
        """Return whether the flag is set."""
        return bool(self._callmethod("is_set"))

    isSet = is_set  # the 0.52 name

    def set(self) -> None:
        """Set the flag, waking every waiter."""
        self._callmethod("set")

    def clear(self) -> None:
        """Clear the flag."""
        self._callmethod("clear")

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the flag is set or ``timeout`` seconds have passed."""
        return bool(self._callmethod("wait", (timeout,)))


class BarrierProxy(BaseProxy):
    """Proxy of a barrier living in the server."""

    _exposed_ = ("__getattribute__", "wait", "abort", "reset")

    def wait(self, timeout: float | None = None) -> int:
        """Wait for all parties; return this party's index."""
        return int(self._callmethod("wait", (timeout,)))

    def abort(self) -> None:
        """Break the barrier."""
        self._callmethod("abort")

    def reset(self) -> None:
        """Return the barrier to its initial state."""
        self._callmethod("reset")

    @property
    def parties(self) -> int:
        """How many parties must arrive."""
        return int(self._callmethod("__getattribute__", ("parties",)))

    @property
    def n_waiting(self) -> int:
        """How many parties are waiting now."""
        return int(self._callmethod("__getattribute__", ("n_waiting",)))

    @property
    def broken(self) -> bool:
        """Whether the barrier is broken."""
        return bool(self._callmethod("__getattribute__", ("broken",)))


class NamespaceProxy(BaseProxy):
    """Proxy of a :class:`Namespace`: attribute access goes to the server."""

    _exposed_ = ("__getattribute__", "__setattr__", "__delattr__")

    def __getattr__(self, key: str) -> Any:
        if key[0] == "_":
            return object.__getattribute__(self, key)
        return object.__getattribute__(self, "_callmethod")("__getattribute__", (key,))

    def __setattr__(self, key: str, value: Any) -> None:
        if key[0] == "_":
            object.__setattr__(self, key, value)
            return
        object.__getattribute__(self, "_callmethod")("__setattr__", (key, value))

    def __delattr__(self, key: str) -> None:
        if key[0] == "_":
            object.__delattr__(self, key)
            return
        object.__getattribute__(self, "_callmethod")("__delattr__", (key,))


class ValueProxy(BaseProxy):
    """Proxy of a shared value: ``get()``, ``set()`` and the ``value`` property."""

    _exposed_ = ("get", "set")

    def get(self) -> Any:
        """Return the value."""
        return self._callmethod("get")

    def set(self, value: Any) -> None:
        """Replace the value."""
        self._callmethod("set", (value,))

    value = property(get, set)


_LIST_METHODS = (
    "__add__", "__contains__", "__delitem__", "__getitem__", "__len__", "__mul__", "__reversed__", "__rmul__",
    "__setitem__", "append", "count", "extend", "index", "insert", "pop", "remove", "reverse", "sort",
    "__imul__", "__iadd__", "clear", "copy",
)  # fmt: skip
BaseListProxy = MakeProxyType("BaseListProxy", _LIST_METHODS)


class ListProxy(BaseListProxy):  # type: ignore[misc, valid-type]
    """Proxy of a list living in the server."""

    def __iadd__(self, value: Any) -> ListProxy:
        self._callmethod("extend", (value,))
        return self

    def __imul__(self, value: Any) -> ListProxy:
        self._callmethod("__imul__", (value,))
        return self

    def __iter__(self) -> Iterator[Any]:
        # One round trip for the snapshot, not one per item.
        return iter(self._callmethod("copy"))


_DICT_METHODS = (
    "__contains__", "__delitem__", "__getitem__", "__iter__", "__len__", "__setitem__", "clear", "copy", "get",
    "items", "keys", "pop", "popitem", "setdefault", "update", "values",
)  # fmt: skip
_DictProxyBase = MakeProxyType("_DictProxyBase", _DICT_METHODS)


class DictProxy(_DictProxyBase):  # type: ignore[misc, valid-type]
    """Proxy of a dict living in the server; ``keys``/``values``/``items`` return lists."""

    _method_to_typeid_ = {"__iter__": "Iterator"}  # noqa: RUF012 - read-only class data

    def keys(self) -> list[Any]:
        """The keys, as a list."""
        return list(self._callmethod("keys"))

    def values(self) -> list[Any]:
        """The values, as a list."""
        return list(self._callmethod("values"))

    def items(self) -> list[tuple[Any, Any]]:
        """The items, as a list of pairs."""
        return list(self._callmethod("items"))


class _ServerDict(dict):
    """The server's dict: views come back as lists (views do not pickle)."""

    def keys(self) -> list[Any]:  # type: ignore[override]
        return list(super().keys())

    def values(self) -> list[Any]:  # type: ignore[override]
        return list(super().values())

    def items(self) -> list[tuple[Any, Any]]:  # type: ignore[override]
        return list(super().items())


def shared_dict(*args: Any, **kwargs: Any) -> dict[Any, Any]:
    """What ``Manager().dict(...)`` keeps in the server."""
    return _ServerDict(*args, **kwargs)


ArrayProxy = MakeProxyType("ArrayProxy", ("__len__", "__getitem__", "__setitem__"))

PoolProxy = MakeProxyType(
    "PoolProxy",
    ("apply", "apply_async", "close", "imap", "imap_unordered", "join", "map", "map_async", "starmap",
     "starmap_async", "terminate"),
)  # fmt: skip
PoolProxy._method_to_typeid_ = {  # type: ignore[attr-defined]
    "apply_async": "AsyncResult",
    "map_async": "AsyncResult",
    "starmap_async": "AsyncResult",
    "imap": "Iterator",
    "imap_unordered": "Iterator",
}


def _pool_enter(self: Any) -> Any:
    return self


def _pool_exit(self: Any, *exc: object) -> None:
    self.terminate()


PoolProxy.__enter__ = _pool_enter  # type: ignore[attr-defined]
PoolProxy.__exit__ = _pool_exit  # type: ignore[attr-defined]
