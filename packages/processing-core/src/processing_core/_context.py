"""Start methods and contexts: ``get_context``, ``set_start_method`` and friends.

A context binds the API to one start method: ``get_context("spawn").Process`` makes
processes that are spawned whatever the default is.  The module-level functions act
on the default context, whose start method is chosen on first use (or set once with
:func:`set_start_method`).  Higher layers add factories to every context (``ctx.Lock()``,
``ctx.Queue()``...) with :func:`register_context_method`, since core imports none of them.
"""

from __future__ import annotations

import os
import sys

from processing_core import _process, _util
from processing_core._errors import AuthenticationError, BufferTooShort, ProcessError, TimeoutError
from processing_core._process import BaseProcess

# typing is not imported at run time: a spawned child's start-up is measured.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from processing_core._process import Popen

__all__ = [
    "BaseContext",
    "DefaultContext",
    "ForkContext",
    "ForkProcess",
    "ForkServerContext",
    "ForkServerProcess",
    "Process",
    "SpawnContext",
    "SpawnProcess",
    "cpu_count",
    "freeze_support",
    "get_all_start_methods",
    "get_context",
    "get_start_method",
    "process_cpu_count",
    "register_context_method",
    "set_executable",
    "set_forkserver_preload",
    "set_spawn_main_mode",
    "set_start_method",
]

START_METHODS = ("fork", "spawn", "forkserver")


class ForkProcess(BaseProcess):
    """A process started with ``os.fork()``."""

    _start_method = "fork"

    @staticmethod
    def _Popen(process_obj: BaseProcess) -> Popen:
        from processing_core._popen_fork import ForkPopen

        return ForkPopen(process_obj)


class SpawnProcess(BaseProcess):
    """A process started as a fresh interpreter by the native ``posix_spawn`` launcher."""

    _start_method = "spawn"

    @staticmethod
    def _Popen(process_obj: BaseProcess) -> Popen:
        from processing_core._popen_spawn import SpawnPopen

        return SpawnPopen(process_obj)


class ForkServerProcess(BaseProcess):
    """A process forked by the fork server (a clean, preloaded helper process)."""

    _start_method = "forkserver"

    @staticmethod
    def _Popen(process_obj: BaseProcess) -> Popen:
        from processing_core._popen_forkserver import ForkServerPopen

        return ForkServerPopen(process_obj)


class Process(BaseProcess):
    """A process started with the default start method (see :func:`set_start_method`)."""

    @staticmethod
    def _Popen(process_obj: BaseProcess) -> Popen:
        return _default_context.get_context().Process._Popen(process_obj)


_context_methods: dict[str, Callable[..., Any]] = {}
# Context methods that core modules register when they are imported; the package imports
# them on first use, so a context looks its provider up when a method is missing.
_core_method_providers = {
    "Pipe": "processing_core.connection",
    "allow_connection_pickling": "processing_core.connection",
    "RawArray": "processing_core._sharedctypes",
    "RawValue": "processing_core._sharedctypes",
}


def register_context_method(name: str, factory: Callable[..., Any]) -> None:
    """Give every context a method ``name``: ``ctx.name(*a, **kw)`` calls ``factory(ctx, *a, **kw)``.

    For the packages above core (``Lock``, ``Queue``, ``Pool``, ``Manager``...).
    """
    _context_methods[name] = factory


class BaseContext:
    """The ``processing`` API bound to one start method."""

    ProcessError = ProcessError
    BufferTooShort = BufferTooShort
    TimeoutError = TimeoutError
    AuthenticationError = AuthenticationError

    Process: type[BaseProcess] = Process
    _name: str | None = None

    current_process = staticmethod(_process.current_process)
    parent_process = staticmethod(_process.parent_process)
    active_children = staticmethod(_process.active_children)
    get_logger = staticmethod(_util.get_logger)
    log_to_stderr = staticmethod(_util.log_to_stderr)

    def __getattr__(self, name: str) -> Any:
        factory = _context_methods.get(name)
        if factory is None and name in _core_method_providers:
            __import__(_core_method_providers[name])
            factory = _context_methods.get(name)
        if factory is None:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return lambda *args, **kwargs: factory(self, *args, **kwargs)

    @staticmethod
    def cpu_count() -> int:
        """See :func:`cpu_count`."""
        return cpu_count()

    @staticmethod
    def freeze_support() -> None:
        """See :func:`freeze_support`."""
        freeze_support()

    def get_context(self, method: str | None = None) -> BaseContext:
        """Return the context of ``method`` (``None``: this context)."""
        if method is None:
            return self
        try:
            return _concrete_contexts[method]
        except KeyError:
            raise ValueError(
                f"cannot find context for {method!r}: the start methods are {', '.join(START_METHODS)}"
            ) from None

    def get_start_method(self, allow_none: bool = False) -> str | None:
        """Return the name of this context's start method."""
        return self._name

    def set_start_method(self, method: str | None, force: bool = False) -> None:
        """Only the default context's start method can be changed."""
        raise ValueError("cannot set the start method of a concrete context")

    def get_all_start_methods(self) -> list[str]:
        """See :func:`get_all_start_methods`."""
        return get_all_start_methods()

    def set_executable(self, executable: str) -> None:
        """See :func:`set_executable`."""
        set_executable(executable)

    def set_forkserver_preload(self, module_names: Iterable[str]) -> None:
        """See :func:`set_forkserver_preload`."""
        set_forkserver_preload(module_names)

    def reducer(self) -> Any:
        """The pickling module of this context (``processing_core._reduction``)."""
        from processing_core import _reduction

        return _reduction

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.get_start_method(allow_none=True)!r}>"


class ForkContext(BaseContext):
    """The context of the ``fork`` start method: ``get_context("fork")``."""

    _name = "fork"
    Process = ForkProcess


class SpawnContext(BaseContext):
    """The context of the ``spawn`` start method: ``get_context("spawn")``."""

    _name = "spawn"
    Process = SpawnProcess


class ForkServerContext(BaseContext):
    """The context of the ``forkserver`` start method: ``get_context("forkserver")``."""

    _name = "forkserver"
    Process = ForkServerProcess


class DefaultContext(BaseContext):
    """The context behind the module-level API; its start method is chosen on first use."""

    Process = Process

    def __init__(self) -> None:
        self._actual: BaseContext | None = None

    def get_context(self, method: str | None = None) -> BaseContext:
        """Return the context of ``method``, or of the default start method (fixing it)."""
        if method is None:
            if self._actual is None:
                self._actual = _concrete_contexts[default_start_method()]
            return self._actual
        return super().get_context(method)

    def set_start_method(self, method: str | None, force: bool = False) -> None:
        """Set the default start method, once (or again with ``force=True``; ``None`` resets)."""
        if self._actual is not None and not force:
            raise RuntimeError("context has already been set")
        if method is None and force:
            self._actual = None
            return
        self._actual = self.get_context(method)

    def get_start_method(self, allow_none: bool = False) -> str | None:
        """Return the default start method (``None`` if unset and ``allow_none``)."""
        if self._actual is None:
            if allow_none:
                return None
            self._actual = _concrete_contexts[default_start_method()]
        return self._actual._name


def default_start_method() -> str:
    """The start method the running interpreter's ``multiprocessing`` defaults to on this OS."""
    if sys.platform == "darwin" or sys.platform == "win32":
        return "spawn"
    return "forkserver" if sys.version_info >= (3, 14) else "fork"


def get_all_start_methods() -> list[str]:
    """Return the start methods available here, the default first."""
    default = default_start_method()
    return [default, *(m for m in START_METHODS if m != default)]


_concrete_contexts: dict[str, BaseContext] = {
    "fork": ForkContext(),
    "spawn": SpawnContext(),
    "forkserver": ForkServerContext(),
}
_default_context = DefaultContext()

get_context = _default_context.get_context
set_start_method = _default_context.set_start_method
get_start_method = _default_context.get_start_method

# ------------------------------------------------------------------ configuration

_executable: str | None = None


def set_executable(executable: str) -> None:
    """Use ``executable`` as the Python interpreter of spawned children (and the fork server)."""
    global _executable  # noqa: PLW0603
    _executable = os.fsdecode(executable)


def get_executable() -> str:
    """Return the interpreter that spawned children run."""
    return _executable or sys.executable


def set_forkserver_preload(module_names: Iterable[str]) -> None:
    """Import ``module_names`` in the fork server when it starts, so children start warm."""
    from processing_core import _forkserver

    _forkserver.set_preload(module_names)


def set_spawn_main_mode(mode: str) -> None:
    """Choose when a spawned (or fork-server) child re-runs the parent's main module.

    Args:
        mode: ``"always"`` (the default): the child re-runs the main module, as
            ``__mp_main__``, at start-up, as ``multiprocessing`` does, so children see
            the side effects of its top level (configuring logging or a library).
            ``"when-needed"``: the child re-runs it only the first time something looks
            a name up in it (a target or argument defined there, or a task that arrives
            later); a child whose work comes from other modules skips the main module's
            imports and starts faster.

    Raises:
        ValueError: for another mode.
    """
    from processing_core import _spawn

    _spawn.set_main_mode(mode)


def cpu_count() -> int:
    """Return the number of CPUs this process may run on (its affinity mask where known).

    Raises:
        NotImplementedError: if the number cannot be determined.
    """
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count()
    if count is None:
        raise NotImplementedError("cannot determine number of cpus")
    return count


def process_cpu_count() -> int:
    """Return the CPUs usable by this process, honouring ``PYTHON_CPU_COUNT`` on Python 3.13+.

    Raises:
        NotImplementedError: if the number cannot be determined.
    """
    getter = getattr(os, "process_cpu_count", None)
    if getter is not None:
        count = getter()
        if count is None:
            raise NotImplementedError("cannot determine number of cpus")
        return int(count)
    return cpu_count()


def freeze_support() -> None:
    """In a frozen executable started as a ``processing`` child, run the child and exit.

    Call it first thing under ``if __name__ == "__main__":``; elsewhere it does nothing.
    """
    if getattr(sys, "frozen", False):
        from processing_core import _spawn

        if _spawn.is_spawn_command_line(sys.argv):
            _spawn.main_from_command_line(sys.argv)
            sys.exit()


cpuCount = cpu_count
freezeSupport = freeze_support
