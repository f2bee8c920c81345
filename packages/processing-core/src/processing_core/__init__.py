"""processing_core: the native core of ``processing``.

Processes and start methods, connections, shared memory and process-shared
semaphores, built on a C extension (``processing_core._native``) compiled with cffi.
This package imports nothing else of ``processing``: it can be installed alone.
"""

from __future__ import annotations

from processing_core import connection  # noqa: F401 - the public submodule; registers socket pickling
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
from processing_core._version import __version__

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
