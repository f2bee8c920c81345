"""processing: run work in other processes with the API of ``threading``.

The meta-package: one threading-like API re-exported from ``processing_core``,
``processing_sync``, ``processing_pool`` and ``processing_managers``, plus the
names of ``processing`` 0.52 as aliases of the modern callables.  It holds no
machinery of its own; ``import processing as multiprocessing`` is enough for
ordinary ``multiprocessing`` code.
"""

from __future__ import annotations

from processing_core import (
    AuthenticationError,
    BaseContext,
    BufferTooShort,
    Pipe,
    Process,
    ProcessError,
    RawArray,
    RawValue,
    TimeoutError,
    _util,
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
from processing_core._fdpass import allow_connection_pickling
from processing_core._util import enable_logging
from processing_managers import Manager, PoolProxy, SyncManager
from processing_pool import DaskBackend, Pool, ThreadPool, WorkerLostError
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

from processing import reduction
from processing._version import __version__

# ``manager.Pool()``: registered here because the managers package never imports the pool package.
SyncManager.register("Pool", Pool, PoolProxy)
SyncManager.register("AsyncResult", create_method=False)

reducer = reduction
"""``multiprocessing.reducer``: the pickling module used to send objects to other processes."""

# The processing 0.52 names: the same callables as the modern ones.
currentProcess = current_process
activeChildren = active_children
cpuCount = cpu_count
freezeSupport = freeze_support
getLogger = get_logger
enableLogging = enable_logging
HAVE_NATIVE_SEMAPHORE = True
"""Always true (0.52 name): the process-shared semaphores are native (``processing_core._native``)."""

# The logging levels of 0.52's ``processing`` module, as ``processing.util`` has them.
NOTSET = _util.NOTSET
"""Logging level 0: no level set."""
SUBDEBUG = _util.SUBDEBUG
"""Logging level 5, below ``DEBUG``: the library's most detailed messages."""
DEBUG = _util.DEBUG
"""Logging level 10 (``logging.DEBUG``)."""
INFO = _util.INFO
"""Logging level 20 (``logging.INFO``)."""
SUBWARNING = _util.SUBWARNING
"""Logging level 25, between ``INFO`` and ``WARNING``."""

__all__ = [
    "DEBUG",
    "HAVE_NATIVE_SEMAPHORE",
    "INFO",
    "NOTSET",
    "SUBDEBUG",
    "SUBWARNING",
    "Array",
    "AuthenticationError",
    "Barrier",
    "BaseContext",
    "BoundedSemaphore",
    "BufferTooShort",
    "Condition",
    "DaskBackend",
    "Event",
    "JoinableQueue",
    "Lock",
    "Manager",
    "Pipe",
    "Pool",
    "Process",
    "ProcessError",
    "Queue",
    "RLock",
    "RawArray",
    "RawValue",
    "Semaphore",
    "SimpleQueue",
    "ThreadPool",
    "TimeoutError",
    "Value",
    "WorkerLostError",
    "__version__",
    "activeChildren",
    "active_children",
    "allow_connection_pickling",
    "cpuCount",
    "cpu_count",
    "currentProcess",
    "current_process",
    "enableLogging",
    "freezeSupport",
    "freeze_support",
    "getLogger",
    "get_all_start_methods",
    "get_context",
    "get_logger",
    "get_start_method",
    "log_to_stderr",
    "parent_process",
    "process_cpu_count",
    "reducer",
    "set_executable",
    "set_forkserver_preload",
    "set_spawn_main_mode",
    "set_start_method",
]
