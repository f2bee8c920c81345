"""Queues when processes die inside them, and when Ctrl-C interrupts a blocked call.

The mid-operation kills use the ring's fault injection (``prc_ring_debug_stop_at``):
the child stops for ever while it holds the ring's lock, half-way through copying a
message (or between the redo record and the indices of a commit), and is then killed
with SIGKILL.  The survivors must recover or report a clear error; never hang.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from typing import Any

import processing_core
import pytest
import queue_workers
from processing_core import BrokenRingError
from processing_core._native import lib
from processing_sync import Empty, JoinableQueue, Queue

WAIT = 60.0
STOP_IN_PUT, STOP_IN_GET, STOP_IN_COMMIT = 1, 2, 3


@pytest.fixture(params=["fork", "spawn"])
def ctx(request: pytest.FixtureRequest) -> Any:
    return processing_core.get_context(request.param)


def _stopped_child(ctx: Any, q: Any, where: int, size: int = 1000) -> Any:
    """Start a child that stops inside the ring at ``where``; return it once it has."""
    before = lib.prc_ring_debug_stops(q._ring._handle)
    child = ctx.Process(target=queue_workers.stop_inside, args=(q, where, size))
    child.start()
    # No deadline of its own: the test's hard timeout (pytest-timeout) ends a hang.
    while lib.prc_ring_debug_stops(q._ring._handle) == before:
        assert child.is_alive(), f"the child exited early: {child.exitcode}"
        time.sleep(0.01)
    return child


def _kill(child: Any) -> None:
    os.kill(child.pid, signal.SIGKILL)
    child.join(WAIT)
    assert child.exitcode == -signal.SIGKILL


def test_producer_killed_mid_put_drops_only_its_half_written_message(ctx: Any) -> None:
    q = Queue()
    q.put_many(["before-1", "before-2"])
    child = _stopped_child(ctx, q, STOP_IN_PUT)
    # A survivor blocked on the lock the dead child holds: it must get through.
    got: list[Any] = []
    reader = threading.Thread(target=lambda: got.append(q.get(timeout=WAIT)))
    reader.start()
    time.sleep(0.05)
    _kill(child)
    reader.join(WAIT)
    assert got == ["before-1"]
    assert q._ring.recoveries == 1
    q.put("after")
    assert [q.get(timeout=WAIT), q.get(timeout=WAIT)] == ["before-2", "after"]
    with pytest.raises(Empty):
        q.get(timeout=0.05)  # the half-written message never appears


def test_producer_killed_mid_commit_has_its_message_rolled_forward(ctx: Any) -> None:
    q = JoinableQueue()
    child = _stopped_child(ctx, q, STOP_IN_COMMIT, size=300)
    _kill(child)
    assert q.get(timeout=WAIT) == b"x" * 300  # the redo record was complete: delivered
    q.task_done()
    q.join()  # the unfinished-task count was rolled forward with it
    assert q._ring.recoveries == 1


def test_consumer_killed_mid_get_leaves_the_message_for_others(ctx: Any) -> None:
    q = Queue()
    q.put_many(["first", "second"])
    child = _stopped_child(ctx, q, STOP_IN_GET)
    _kill(child)
    assert [q.get(timeout=WAIT), q.get(timeout=WAIT)] == ["first", "second"]
    assert q.qsize() == 0
    q.put("still works")
    assert q.get(timeout=WAIT) == "still works"


def test_a_ring_damaged_beyond_repair_reports_itself_broken(ctx: Any) -> None:
    q = Queue()
    q.put("doomed")
    child = _stopped_child(ctx, q, STOP_IN_PUT)
    # Scribble over the first record's header while the child holds the lock, as a
    # stray write would: the recovery walk must notice that the records do not add up.
    data_offset = processing_core.page_size()  # the header fits in the first page
    os.pwrite(q._ring.fd, b"\xff" * 8, data_offset)
    _kill(child)
    with pytest.raises(BrokenRingError, match="broken"):
        q.get(timeout=WAIT)
    with pytest.raises(BrokenRingError, match="broken"):
        q.put_nowait("more")
    assert q._ring.broken


@pytest.mark.slow
def test_producers_killed_at_random_while_putting_large_messages() -> None:
    ctx = processing_core.get_context("fork")
    rng = random.Random(1234)
    q = Queue(buffer_size=256 * 1024)
    for round_ in range(6):
        child = ctx.Process(target=_put_forever, args=(q, round_))
        child.start()
        time.sleep(rng.uniform(0.02, 0.2))
        os.kill(child.pid, signal.SIGKILL)
        child.join(WAIT)
        # Whatever arrived is whole and in order; then the queue still works.
        last = -1
        while True:
            try:
                seed, index, data = q.get(timeout=0.1)
            except Empty:
                break
            assert seed == round_ and index > last
            assert data == queue_workers.payload(len(data), index)
            last = index
        q.put(("probe", round_))
        assert q.get(timeout=WAIT) == ("probe", round_)
    assert not q._ring.broken


def _put_forever(q: Any, seed: int) -> None:
    rng = random.Random(seed)
    index = 0
    while True:
        size = rng.choice((10, 1000, 50_000, 200_000))
        q.put((seed, index, queue_workers.payload(size, index)))
        index += 1


def _interrupt_soon() -> threading.Timer:
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


@pytest.mark.timeout(30)
@pytest.mark.parametrize("call", ["get", "get_many", "bounded put", "join"])
def test_ctrl_c_interrupts_a_blocked_call(call: str) -> None:
    q: Any = JoinableQueue(1) if call != "get" else Queue()
    actions = {
        "get": lambda: q.get(),
        "get_many": lambda: q.get_many(),
        "bounded put": lambda: (q.put(1), q.put(2)),
        "join": lambda: (q.put(1), q.join()),
    }
    timer = _interrupt_soon()
    with pytest.raises(KeyboardInterrupt):
        actions[call]()
    timer.join()
