"""Picklable functions and types the manager tests hand to children and servers."""

from __future__ import annotations

import os
import signal
import time

from processing_managers import BaseManager, BaseProxy, CreatorMethod


def append_in_child(shared_list, value) -> None:
    shared_list.append(value)


def fill_dict(shared_dict, key, value) -> None:
    shared_dict[key] = value


def bump_namespace(namespace) -> None:
    namespace.count = namespace.count + 1


def increment_locked(value, lock, times) -> None:
    for _ in range(times):
        with lock:
            value.value = value.value + 1


def set_event_later(event) -> None:
    time.sleep(0.1)
    event.set()


def kill_own_server(manager_pid) -> None:
    os.kill(manager_pid, signal.SIGKILL)


class Counter:
    """A user type served by a custom manager."""

    def __init__(self, start: int = 0) -> None:
        self._value = start

    def increment(self, by: int = 1) -> int:
        self._value += by
        return self._value

    def value(self) -> int:
        return self._value

    def fail(self) -> None:
        raise ValueError("counter failure on purpose")

    def _hidden(self) -> str:
        return "hidden"

    def unpicklable(self):
        return lambda: None

    def incomparable(self):
        return Incomparable()


class Incomparable:
    """A result that refuses comparison (as a numpy array does, for its truth value)."""

    def __eq__(self, other):
        raise ValueError("the truth value of this object is ambiguous")

    __hash__ = object.__hash__


class CounterProxy(BaseProxy):
    _exposed_ = ("increment", "value")

    def increment(self, by: int = 1) -> int:
        return self._callmethod("increment", (by,))

    def value(self) -> int:
        return self._callmethod("value")


class CounterManager(BaseManager):
    pass


CounterManager.register("Counter", Counter)
CounterManager.register("TypedCounter", Counter, CounterProxy)


class LegacyManager(BaseManager):
    """The 0.52 way: CreatorMethod class attributes."""

    Counter = CreatorMethod(Counter)
    Numbers = CreatorMethod(list, typeid="numbers")


def use_remote_manager(address, authkey, out) -> None:
    manager = CounterManager(address=address, authkey=authkey)
    manager.connect()
    counter = manager.Counter(10)
    out.put(counter.increment(5))
