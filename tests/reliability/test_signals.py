"""Ctrl-C during every blocking call: SIGINT (sent to the main thread from a timer thread)
interrupts the call with KeyboardInterrupt, and the object stays usable or closes cleanly.

The per-package suites already interrupt queue get/put/join, lock, semaphore, condition,
event and barrier waits (tests/sync) and a whole program in Pool.map (tests/pool); this
covers every blocking call of the public API in one place, with what comes after."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import processing
import pytest
from processing.connection import wait
from reliability_helpers import count

WAIT = 30.0


def _interrupt_main_thread_soon(delay: float = 0.3) -> threading.Timer:
    timer = threading.Timer(delay, signal.pthread_kill, (threading.main_thread().ident, signal.SIGINT))
    timer.start()
    return timer


def interrupted(call: Callable[[], Any]) -> None:
    """Run the blocking ``call``; it must end in KeyboardInterrupt, not return or hang."""
    timer = _interrupt_main_thread_soon()
    try:
        with pytest.raises(KeyboardInterrupt):
            call()
    finally:
        timer.join()
    count("interruptions survived")


@pytest.fixture
def ctx() -> Any:
    return processing.get_context("fork")


@pytest.fixture(scope="module")
def manager() -> Iterator[Any]:
    with processing.Manager() as running:
        yield running


@pytest.mark.timeout(60)
def test_process_join(ctx: Any) -> None:
    child = ctx.Process(target=time.sleep, args=(WAIT,))
    child.start()
    interrupted(child.join)
    assert child.is_alive()  # the child is untouched; join still works after stopping it
    child.terminate()
    child.join(WAIT)
    assert child.exitcode == -signal.SIGTERM


@pytest.mark.timeout(60)
@pytest.mark.parametrize("way", ["acquire", "with", "value"])
@pytest.mark.parametrize("kind", ["Lock", "RLock", "Semaphore"])
def test_lock_acquire(ctx: Any, kind: str, way: str) -> None:
    lock = ctx.Semaphore(0) if kind == "Semaphore" else getattr(ctx, kind)()
    # acquire() is Python; `with` and a locked Value's access wait from C methods.
    shared = ctx.Value("i", 0, lock=lock)
    call = {"acquire": lock.acquire, "with": lock.__enter__, "value": lambda: shared.value}[way]
    owner_ready, release = threading.Event(), threading.Event()

    def own() -> None:  # another thread holds it (an RLock's owner would not block)
        lock.acquire()
        owner_ready.set()
        release.wait(WAIT)
        lock.release()

    owner = threading.Thread(target=own) if kind != "Semaphore" else None
    if owner is not None:
        owner.start()
        assert owner_ready.wait(WAIT)
    interrupted(call)
    if owner is not None:
        release.set()
        owner.join(WAIT)
    else:
        lock.release()
    assert lock.acquire(True, WAIT)  # the interrupted wait took nothing and broke nothing
    lock.release()


@pytest.mark.timeout(60)
def test_queue_get(ctx: Any) -> None:
    queue = ctx.Queue()
    interrupted(queue.get)
    queue.put("after")
    assert queue.get(timeout=WAIT) == "after"
    queue.close()
    queue.join_thread()


@pytest.mark.timeout(60)
def test_connection_recv_and_wait(ctx: Any) -> None:
    reader, writer = ctx.Pipe()
    interrupted(reader.recv)
    interrupted(lambda: wait([reader]))
    writer.send("after")  # nothing half-read: the next message arrives whole
    assert wait([reader], WAIT) == [reader]
    assert reader.recv() == "after"
    reader.close()
    writer.close()


@pytest.mark.timeout(60)
def test_event_wait(ctx: Any) -> None:
    event = ctx.Event()
    interrupted(event.wait)
    event.set()
    assert event.wait(WAIT)


@pytest.mark.timeout(60)
def test_condition_wait(ctx: Any) -> None:
    condition = ctx.Condition()

    def wait_on_it() -> None:
        with condition:
            condition.wait()

    interrupted(wait_on_it)
    # The lock was given back by the with block: free, and notify works again.
    assert condition.acquire(True, WAIT)
    condition.notify_all()
    condition.release()


@pytest.mark.timeout(60)
def test_pool_map(ctx: Any) -> None:
    pool = ctx.Pool(2)
    try:
        interrupted(lambda: pool.map(time.sleep, [WAIT, WAIT]))
        # Ctrl-C in map stops the pool (its workers are gone): cleanly closed, it says so.
        with pytest.raises(ValueError, match="not running"):
            pool.map(abs, [1])
    finally:
        pool.terminate()
        pool.join()


@pytest.mark.timeout(60)
def test_async_result_get(ctx: Any) -> None:
    pool = ctx.Pool(2)
    try:
        slow = pool.apply_async(time.sleep, (1.0,))
        interrupted(slow.get)
        assert slow.get(WAIT) is None  # the result was not lost to the interruption
        assert pool.map(abs, range(-3, 0)) == [3, 2, 1]  # still usable
    finally:
        pool.terminate()
        pool.join()


@pytest.mark.timeout(60)
def test_manager_proxy_call(manager: Any) -> None:
    event = manager.Event()
    interrupted(event.wait)  # blocks in the server; the client's wait is what is interrupted
    shared = manager.list([1, 2])
    assert shared[:] == [1, 2]  # the next call gets its own reply, not the stale one
    event.set()
    assert event.is_set()
    assert event.wait(WAIT)
