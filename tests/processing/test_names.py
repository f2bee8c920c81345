"""Every name of the one API resolves, every submodule imports, the 0.52 names are aliases."""

from __future__ import annotations

import builtins
import importlib
import multiprocessing

import processing
import processing.connection
import processing.finalize
import processing.managers
import processing.pool
import processing.process
import processing.queue
import processing.queues
import processing.synchronize
import processing.util
import pytest

# The issue's list: what a user of today's multiprocessing finds at its top level.
MODERN_TOP_LEVEL = (
    "Process current_process parent_process active_children cpu_count Pipe Queue JoinableQueue "
    "SimpleQueue Lock RLock Semaphore BoundedSemaphore Condition Event Barrier Value Array RawValue "
    "RawArray Manager Pool get_context set_start_method get_start_method get_all_start_methods "
    "set_executable set_forkserver_preload freeze_support get_logger log_to_stderr "
    "allow_connection_pickling reducer ProcessError BufferTooShort TimeoutError AuthenticationError"
).split()

# 0.52's top-level names (API-0.52.md section 3.1) and the modern callable each one is.
LEGACY_ALIASES = {
    "currentProcess": "current_process",
    "activeChildren": "active_children",
    "cpuCount": "cpu_count",
    "freezeSupport": "freeze_support",
    "getLogger": "get_logger",
}
LEGACY_052_ALL = (
    "Process currentProcess activeChildren freezeSupport Manager Pipe cpuCount getLogger enableLogging "
    "BufferTooShort TimeoutError Lock RLock Semaphore BoundedSemaphore Condition Event Queue Pool Value Array "
    "ProcessError HAVE_NATIVE_SEMAPHORE NOTSET SUBDEBUG DEBUG INFO SUBWARNING"
).split()

SUBMODULES = (
    "connection managers pool sharedctypes heap reduction synchronize queues queue shared_memory process "
    "context util finalize dummy dummy.connection"
).split()

# multiprocessing's submodules, and the names of theirs we do not have yet (reported, in the docs).
STDLIB_TWINS = {
    "connection": set(),
    "managers": set(),
    "pool": set(),
    "sharedctypes": set(),
    "heap": set(),
    "reduction": set(),
    "synchronize": set(),
    "queues": set(),
    "shared_memory": set(),
    "process": set(),
    "util": set(),
    "dummy": set(),
    "dummy.connection": set(),
}


@pytest.mark.parametrize("name", MODERN_TOP_LEVEL + LEGACY_052_ALL)
def test_every_name_of_the_issue_resolves(name: str) -> None:
    assert getattr(processing, name) is not None


def test_everything_multiprocessing_has_at_top_level_is_here() -> None:
    missing = [name for name in multiprocessing.__all__ if not hasattr(processing, name)]
    assert not missing


def test_all_lists_only_names_that_exist() -> None:
    assert [name for name in processing.__all__ if not hasattr(processing, name)] == []
    assert set(MODERN_TOP_LEVEL) - {"reducer"} <= set(processing.__all__) | {"reducer"}


@pytest.mark.parametrize("old", sorted(LEGACY_ALIASES))
def test_0_52_names_are_the_modern_callables(old: str) -> None:
    assert getattr(processing, old) is getattr(processing, LEGACY_ALIASES[old])


def test_0_52_values_and_exceptions() -> None:
    from processing_core import _util

    assert processing.enableLogging is _util.enable_logging
    assert processing.HAVE_NATIVE_SEMAPHORE is True
    assert (processing.NOTSET, processing.SUBDEBUG, processing.DEBUG, processing.INFO, processing.SUBWARNING) == (
        0,
        5,
        10,
        20,
        25,
    )
    assert issubclass(processing.BufferTooShort, processing.ProcessError)
    assert issubclass(processing.TimeoutError, builtins.TimeoutError)
    assert processing.pool.TimeoutError is processing.TimeoutError
    assert processing.reducer is processing.reduction


def test_enable_logging_is_the_0_52_function() -> None:
    import logging

    logger = processing.getLogger()
    handlers, level = list(logger.handlers), logger.level
    try:
        processing.enableLogging(processing.INFO, logging.StreamHandler, (), "%(message)s")
        assert processing.getLogger().level == processing.INFO
    finally:
        logger.handlers[:] = handlers
        logger.setLevel(level)


@pytest.mark.parametrize("submodule", SUBMODULES)
def test_every_submodule_imports_and_lists_real_names(submodule: str) -> None:
    module = importlib.import_module(f"processing.{submodule}")
    assert module.__all__, f"processing.{submodule} exports nothing"
    assert [name for name in module.__all__ if not hasattr(module, name)] == []


@pytest.mark.parametrize("submodule", sorted(STDLIB_TWINS))
def test_submodules_have_the_names_of_multiprocessing(submodule: str) -> None:
    ours = importlib.import_module(f"processing.{submodule}")
    theirs = importlib.import_module(f"multiprocessing.{submodule}")
    public = getattr(theirs, "__all__", None) or [n for n in vars(theirs) if not n.startswith("_")]
    missing = {name for name in public if not hasattr(ours, name)}
    assert missing == STDLIB_TWINS[submodule]


def test_submodules_re_export_the_packages_objects() -> None:
    import processing_core.connection
    import processing_managers
    import processing_pool
    import processing_sync

    assert processing.connection.Listener is processing_core.connection.Listener
    assert processing.managers.SyncManager is processing_managers.SyncManager
    assert processing.pool.Pool is processing_pool.Pool is processing.Pool
    assert processing.synchronize.Lock is processing_sync.Lock is processing.Lock
    assert processing.queue.Queue is processing.queues.Queue is processing.Queue
    assert processing.finalize.Finalize is processing.util.Finalize
    assert processing.process.currentProcess is processing.current_process
    assert processing.connection.deliverChallenge is processing.connection.deliver_challenge


def test_the_manager_serves_pools() -> None:
    with processing.Manager() as manager:
        pool = manager.Pool(2)
        try:
            assert pool.map(abs, [-1, -2, -3]) == [1, 2, 3]
            assert pool.apply_async(pow, (2, 5)).get(timeout=60) == 32
        finally:
            pool.close()
            pool.join()
