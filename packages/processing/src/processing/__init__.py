"""processing: run work in other processes with the API of ``threading``.

The meta-package: one threading-like API re-exported from ``processing_core``,
``processing_sync``, ``processing_pool`` and ``processing_managers``, plus the
names of ``processing`` 0.52.  It holds no machinery of its own.
"""

from __future__ import annotations

from processing_core import (
    BaseContext,
    Pipe,
    Process,
    RawArray,
    RawValue,
    active_children,
    cpu_count,
    current_process,
    freeze_support,
    get_all_start_methods,
    get_context,
    get_logger,
    get_start_method,
    log_to_stderr,
    parent_process,
    process_cpu_count,
    set_executable,
    set_forkserver_preload,
    set_spawn_main_mode,
    set_start_method,
)
from processing_core._util import enable_logging as enableLogging  # noqa: F401 - the 0.52 name
from processing_pool import Pool, ThreadPool, WorkerLostError
from processing_sync import (
    Array,
    Barrier,
    BoundedSemaphore,
    Condition,
    Event,
    JoinableQueue,
    Lock,
    Queue,
    RLock,
    Semaphore,
    SimpleQueue,
    Value,
)

from processing._version import __version__

# 0.52 module-level names: aliases of the modern functions.
currentProcess = current_process
activeChildren = active_children
cpuCount = cpu_count
freezeSupport = freeze_support
getLogger = get_logger

__all__ = [
    "Array",
    "Barrier",
    "BaseContext",
    "BoundedSemaphore",
    "Condition",
    "Event",
    "JoinableQueue",
    "Lock",
    "Pipe",
    "Pool",
    "Process",
    "Queue",
    "RLock",
    "RawArray",
    "RawValue",
    "Semaphore",
    "SimpleQueue",
    "ThreadPool",
    "Value",
    "WorkerLostError",
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
    "parent_process",
    "process_cpu_count",
    "set_executable",
    "set_forkserver_preload",
    "set_spawn_main_mode",
    "set_start_method",
]
