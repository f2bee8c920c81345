"""processing_core: the native core of ``processing``.

Processes and start methods, connections, shared memory and process-shared
semaphores, built on a C extension (``processing_core._native``) compiled with cffi.
This package imports nothing else of ``processing``: it can be installed alone.
"""

from __future__ import annotations

# The names are imported on first use (PEP 562): a spawned child re-runs its parent's
# main module, which usually starts with ``import processing_core``, so importing the
# package must not pull in connections, authentication (hmac) or shared memory.
from processing_core._version import __version__

TYPE_CHECKING = False  # typing stays out of a spawned child's start-up
if TYPE_CHECKING:
    from processing_core._connection import Connection, Pipe
    from processing_core._context import (
        BaseContext,
        DefaultContext,
        ForkContext,
        ForkServerContext,
        Process,
        SpawnContext,
        cpu_count,
        freeze_support,
        get_all_start_methods,
        get_context,
        get_start_method,
        process_cpu_count,
        set_executable,
        set_forkserver_preload,
        set_spawn_main_mode,
        set_start_method,
    )
    from processing_core._errors import AuthenticationError, BufferTooShort, ProcessError, TimeoutError
    from processing_core._platform import monotonic, native_build_info, page_size
    from processing_core._process import BaseProcess, active_children, current_process, parent_process
    from processing_core._ring import BrokenRingError
    from processing_core._semaphore import OwnerDiedError
    from processing_core._shareable_list import ShareableList
    from processing_core._shared_memory import SharedMemory
    from processing_core._sharedctypes import RawArray, RawValue
    from processing_core._util import get_logger, log_to_stderr
del TYPE_CHECKING  # not a name of the package

__all__ = [
    "AuthenticationError",
    "BaseContext",
    "BaseProcess",
    "BrokenRingError",
    "BufferTooShort",
    "Connection",
    "DefaultContext",
    "ForkContext",
    "ForkServerContext",
    "OwnerDiedError",
    "Pipe",
    "Process",
    "ProcessError",
    "RawArray",
    "RawValue",
    "ShareableList",
    "SharedMemory",
    "SpawnContext",
    "TimeoutError",
    "__version__",
    "active_children",
    "cpu_count",
    "current_process",
    "freeze_support",
    "get_all_start_methods",
    "get_context",
    "get_logger",
    "get_start_method",
    "log_to_stderr",
    "monotonic",
    "native_build_info",
    "page_size",
    "parent_process",
    "process_cpu_count",
    "set_executable",
    "set_forkserver_preload",
    "set_spawn_main_mode",
    "set_start_method",
]

# Where each public name lives.  Connection and Pipe come from the public ``connection``
# module, whose import also makes sockets picklable and gives contexts ``Pipe()``.
_CONTEXT_NAMES = (
    "BaseContext DefaultContext ForkContext ForkServerContext Process SpawnContext cpu_count freeze_support "
    "get_all_start_methods get_context get_start_method process_cpu_count set_executable "
    "set_forkserver_preload set_spawn_main_mode set_start_method"
)
_HOMES = {
    "connection": ("Connection", "Pipe"),
    "_context": tuple(_CONTEXT_NAMES.split()),
    "_errors": ("AuthenticationError", "BufferTooShort", "ProcessError", "TimeoutError"),
    "_platform": ("monotonic", "native_build_info", "page_size"),
    "_process": ("BaseProcess", "active_children", "current_process", "parent_process"),
    "_ring": ("BrokenRingError",),
    "_semaphore": ("OwnerDiedError",),
    "_shareable_list": ("ShareableList",),
    "_shared_memory": ("SharedMemory",),
    "_sharedctypes": ("RawArray", "RawValue"),
    "_util": ("get_logger", "log_to_stderr"),
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}
# Public submodules that ``processing_core.<name>`` reaches without an import statement.
_SUBMODULES = frozenset({"connection", "shared_memory"})


def __getattr__(name: str) -> object:
    """Import a public name (or public submodule) of the package on first use."""
    # ``from processing_core import _x`` asks here first: unknown names fail fast, before
    # anything is imported, and the import system then loads the submodule itself.
    if name in _SUBMODULES:
        return __import__(f"{__name__}.{name}", fromlist=["_"])
    home = _HOME_OF.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = __import__(f"{__name__}.{home}", fromlist=["_"])
        value = getattr(module, name)
    except AttributeError as exc:
        # Raised here, an AttributeError would read as "no attribute" (or "cannot import
        # name") and hide what went wrong: a failed import, or a circular one.
        raise ImportError(f"{__name__}.{name} is defined in {__name__}.{home}, whose import failed: {exc}") from exc
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
