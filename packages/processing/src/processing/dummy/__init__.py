"""The ``processing`` API backed by threads, as ``multiprocessing.dummy`` (and 0.52's ``processing.dummy``).

Code written for processes runs here in threads of this process: ``Process`` is a
thread with the ``Process`` API, the primitives and ``Queue`` are ``threading``'s and
``queue``'s, ``Pool`` is a thread pool, ``Manager()`` returns this module itself (its
``list``, ``dict``, ``Namespace``, ``Value`` and ``Array`` are plain in-process objects)
and :mod:`processing.dummy.connection` has ``Pipe``, ``Listener`` and ``Client`` on
in-process queues.
"""

from __future__ import annotations

import array
import sys
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from queue import Queue
from types import ModuleType
from typing import Any

from processing_managers import Namespace
from processing_pool import ThreadPool

from processing.dummy.connection import Pipe

# threading's primitives are the ones threads of one process need.
Lock = threading.Lock
RLock = threading.RLock
Semaphore = threading.Semaphore
BoundedSemaphore = threading.BoundedSemaphore
Condition = threading.Condition
Event = threading.Event
Barrier = threading.Barrier
JoinableQueue = Queue
#: ``Pool(processes, initializer, initargs)``: a pool of threads.
Pool = ThreadPool
dict = dict  # noqa: PLW0127 - ``Manager().dict()`` when the manager is this module
list = list  # noqa: PLW0127

# Children of each thread that started some, held weakly on both sides.
_children_of: weakref.WeakKeyDictionary[threading.Thread, weakref.WeakSet[DummyProcess]] = weakref.WeakKeyDictionary()
_children_lock = threading.Lock()


class DummyProcess(threading.Thread):
    """A thread with the ``Process`` API: ``start``, ``join``, ``is_alive``, ``name``, ``daemon``, ``exitcode``.

    Args:
        group: Must be ``None`` (as for ``threading.Thread``).
        target: The callable ``run()`` calls.
        name: The thread's name (default ``Thread-N``).
        args: Positional arguments for ``target``.
        kwargs: Keyword arguments for ``target``.
        daemon: Whether the thread is a daemon (default: inherited, as for threads).
    """

    def __init__(
        self,
        group: None = None,
        target: Callable[..., object] | None = None,
        name: str | None = None,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        daemon: bool | None = None,
    ) -> None:
        super().__init__(group, target, name, tuple(args), dict(kwargs or {}), daemon=daemon)
        self._parent = threading.current_thread()
        self._start_called = False

    def start(self) -> None:
        """Start the thread; only the thread that created this object may start it."""
        if self._parent is not threading.current_thread():
            raise AssertionError("can only start a process object created by the current thread")
        self._start_called = True
        with _children_lock:
            _children_of.setdefault(self._parent, weakref.WeakSet()).add(self)
        super().start()

    @property
    def exitcode(self) -> int | None:
        """``0`` once the thread has run and finished, else ``None`` (threads have no exit status)."""
        if self._start_called and not self.is_alive():
            return 0
        return None

    # The 0.52 names, without threading's deprecation warnings.
    def isAlive(self) -> bool:
        """The 0.52 spelling of ``is_alive()``."""
        return self.is_alive()

    def getExitCode(self) -> int | None:
        """The 0.52 spelling of ``exitcode``."""
        return self.exitcode

    def getName(self) -> str:
        """The 0.52 spelling of reading ``name``."""
        return self.name

    def setName(self, name: str) -> None:
        """The 0.52 spelling of setting ``name``."""
        self.name = name

    def isDaemon(self) -> bool:
        """The 0.52 spelling of reading ``daemon``."""
        return self.daemon

    def setDaemon(self, daemonic: bool) -> None:
        """The 0.52 spelling of setting ``daemon``."""
        self.daemon = daemonic


Process = DummyProcess
current_process = threading.current_thread


def active_children() -> list[DummyProcess]:
    """Return the live ``Process`` threads started by the current thread (finished ones are dropped)."""
    with _children_lock:
        children = _children_of.get(threading.current_thread())
        if not children:
            return []
        for child in [child for child in children if not child.is_alive()]:
            children.discard(child)
        return [*children]


def freeze_support() -> None:
    """Do nothing: threads need no support for frozen executables."""


class Value:
    """A plain value with a ``value`` attribute, for code written against ``Manager().Value``.

    Args:
        typecode: An ``array`` typecode, kept for the repr.
        value: The initial value.
        lock: Ignored: threads share the object directly.
    """

    def __init__(self, typecode: str, value: Any, lock: bool = True) -> None:
        self._typecode = typecode
        self.value = value

    def get(self) -> Any:
        """Return the value."""
        return self.value

    def set(self, value: Any) -> None:
        """Replace the value."""
        self.value = value

    def __repr__(self) -> str:
        return f"<{type(self).__name__!r}({self._typecode!r}, {self.value!r})>"


def Array(typecode: str, sequence: Iterable[Any], lock: bool = True) -> array.array[Any]:
    """Return an ``array.array`` (``lock`` is ignored: threads share it directly)."""
    return array.array(typecode, sequence)


def Manager() -> ModuleType:
    """Return this module: its ``list``, ``dict``, ``Namespace``, ``Lock``... are the manager's types."""
    return sys.modules[__name__]


def shutdown() -> None:
    """Do nothing (``Manager().shutdown()`` when the manager is this module)."""


# The processing 0.52 names.
currentProcess = current_process
activeChildren = active_children
freezeSupport = freeze_support

__all__ = [
    "Array",
    "Barrier",
    "BoundedSemaphore",
    "Condition",
    "DummyProcess",
    "Event",
    "JoinableQueue",
    "Lock",
    "Manager",
    "Namespace",
    "Pipe",
    "Pool",
    "Process",
    "Queue",
    "RLock",
    "Semaphore",
    "Value",
    "activeChildren",
    "active_children",
    "currentProcess",
    "current_process",
    "freezeSupport",
    "freeze_support",
    "shutdown",
]
