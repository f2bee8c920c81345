"""Contexts and start methods, as ``multiprocessing.context``.

Re-exports :mod:`processing_core._context`: ``BaseContext``, ``DefaultContext``, the
context class of each start method (``ForkContext``, ``SpawnContext``,
``ForkServerContext``), the default context's functions, and the ``Process`` class of
each start method.
"""

from __future__ import annotations

from processing_core._context import (
    BaseContext,
    DefaultContext,
    ForkContext,
    ForkProcess,
    ForkServerContext,
    ForkServerProcess,
    Process,
    SpawnContext,
    SpawnProcess,
    cpu_count,
    freeze_support,
    get_all_start_methods,
    get_context,
    get_start_method,
    process_cpu_count,
    set_executable,
    set_forkserver_preload,
    set_start_method,
)
from processing_core._errors import AuthenticationError, BufferTooShort, ProcessError, TimeoutError
from processing_core._reduction import assert_spawning, get_spawning_popen

__all__ = [
    "AuthenticationError",
    "BaseContext",
    "BufferTooShort",
    "DefaultContext",
    "ForkContext",
    "ForkProcess",
    "ForkServerContext",
    "ForkServerProcess",
    "Process",
    "ProcessError",
    "SpawnContext",
    "SpawnProcess",
    "TimeoutError",
    "assert_spawning",
    "cpu_count",
    "freeze_support",
    "get_all_start_methods",
    "get_context",
    "get_spawning_popen",
    "get_start_method",
    "process_cpu_count",
    "set_executable",
    "set_forkserver_preload",
    "set_start_method",
]
