"""Pickling for ``processing``: one pickler with a registry of reducers, and the
contract by which OS resources (file descriptors) travel to a child being started.

Handing a resource to a child
-----------------------------
While a start method pickles the process object for a new child (spawn and
forkserver; fork pickles nothing), it installs its launcher with
:func:`spawning_popen`.  A reducer for an object that owns a descriptor calls
:func:`duplicate_for_child` with the descriptor and stores the *token* it returns;
when the object is unpickled in the child, it calls :func:`inherited_fd` with that
token to get the descriptor number valid there.  Under spawn the token is the
descriptor number itself (the launcher keeps it open at that number in the child);
under forkserver it is an index into the descriptors the server passed along, which
the child registers with :func:`set_inherited_fds` before unpickling.

Objects that may only travel this way call :func:`assert_spawning`, which raises a
``RuntimeError`` naming their type when they are pickled at any other time.
"""

from __future__ import annotations

import copyreg
import io
import pickle
import threading
from collections import ChainMap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Protocol


class ChildLauncher(Protocol):
    """What a start method's launcher offers to reducers while it pickles a child."""

    def duplicate_for_child(self, fd: int) -> int:
        """Arrange for ``fd`` to be open in the child; return the token naming it there."""
        ...


class _SpawningState(threading.local):
    popen: ChildLauncher | None = None


_spawning = _SpawningState()
_inherited_fds: list[int] | None = None


@contextmanager
def spawning_popen(popen: ChildLauncher) -> Iterator[None]:
    """Mark this thread as pickling a child for ``popen`` for the duration of the block."""
    previous = _spawning.popen
    _spawning.popen = popen
    try:
        yield
    finally:
        _spawning.popen = previous


def get_spawning_popen() -> ChildLauncher | None:
    """Return the launcher this thread is pickling a child for, or ``None``."""
    return _spawning.popen


def duplicate_for_child(fd: int) -> int:
    """Hand ``fd`` to the child being started; return the token that names it there."""
    popen = _spawning.popen
    if popen is None:
        raise RuntimeError("a file descriptor can only be handed to a child while that child is being started")
    return popen.duplicate_for_child(fd)


def set_inherited_fds(fds: list[int]) -> None:
    """In a forkserver child: record the descriptors the server passed, in token order."""
    global _inherited_fds  # noqa: PLW0603 - one table per process, set once at start-up
    _inherited_fds = list(fds)


def inherited_fd(token: int) -> int:
    """Return the descriptor that ``token`` (from :func:`duplicate_for_child`) names here."""
    if _inherited_fds is None:
        return token
    return _inherited_fds[token]


def assert_spawning(obj: object) -> None:
    """Raise ``RuntimeError`` unless a child is being started by this thread."""
    if _spawning.popen is None:
        name = type(obj).__name__
        raise RuntimeError(
            f"{name} objects should only be shared between processes through inheritance: "
            f"pass the {name} to the child when it is created (as an argument of Process or a "
            "pool initializer), not through a queue, a pipe or pickle"
        )


Reducer = Callable[[Any], "str | tuple[Any, ...]"]


class ForkingPickler(pickle.Pickler):
    """A pickler that knows the reducers registered with :meth:`register`."""

    # Ours first, then copyreg's live table, so later copyreg registrations still count.
    _extra_reducers: ClassVar[dict[Any, Any]] = {}
    dispatch_table: ChainMap[Any, Any] = ChainMap(_extra_reducers, copyreg.dispatch_table)  # noqa: RUF012

    @classmethod
    def register(cls, type_: type, reducer: Reducer) -> None:
        """Pickle instances of ``type_`` with ``reducer`` (a ``__reduce__``-style function)."""
        cls._extra_reducers[type_] = reducer

    @classmethod
    def dumps(cls, obj: Any, protocol: int | None = None) -> memoryview:
        """Pickle ``obj`` with the registered reducers; return the bytes as a memoryview."""
        buffer = io.BytesIO()
        cls(buffer, protocol).dump(obj)
        return buffer.getbuffer()

    loads = staticmethod(pickle.loads)


register = ForkingPickler.register


def dump(obj: Any, file: Any, protocol: int | None = None) -> None:
    """Pickle ``obj`` into ``file`` with the registered reducers."""
    ForkingPickler(file, protocol).dump(obj)
