"""How the process pool hands work to its workers: spread, hand-over and pipe sizes."""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import pool_targets as t
import processing_core
from processing_pool import Pool, _worker
from processing_pool._wire import PIPE_SIZE, fit_pipe
from processing_pool._worker import SEND_AT_ONCE_BYTES, _Results


@pytest.fixture
def pool():
    p = Pool(2, context=processing_core.get_context("fork"))
    yield p
    p.terminate()
    p.join()


def test_a_short_queue_after_tiny_tasks_goes_to_both_workers(pool: Pool) -> None:
    # Tiny tasks first: the pool then sends a second batch ahead to a busy worker.  Two
    # slow tasks must still go one to each worker, not both to the first one.
    pool.map(t.square, range(64), 1)
    # Both workers must have said they are ready (on a loaded machine the second may not
    # have yet, and then both tasks rightly go to the first).
    deadline = time.monotonic() + 30
    while not all(slot.ready for slot in pool._backend._slots) and time.monotonic() < deadline:
        time.sleep(0.01)
    pids = pool.map(t.sleep_then_pid, [0.3, 0.3], 1)
    assert len(set(pids)) == 2, pids


def test_map_hands_all_chunks_over_at_once(pool: Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    handed: list[int] = []
    submit = pool._backend.submit
    monkeypatch.setattr(pool._backend, "submit", lambda tasks: (handed.append(len(tasks)), submit(tasks)))
    assert pool.map(t.square, range(1000), 10) == [x * x for x in range(1000)]
    assert handed == [100]


def test_large_items_and_results_cross_grown_pipes(pool: Pool) -> None:
    payloads = [bytes([n]) * (300 << 10) for n in range(6)]
    assert pool.map(t.identity, payloads, 2) == payloads
    # Whichever worker was ready first carried the tasks (on a loaded machine the other
    # may have had none): its pipe grew, and every slot's record matches its pipe.
    slots = pool._backend._slots
    assert max(slot.task_pipe_size for slot in slots) > PIPE_SIZE
    for slot in slots:
        assert fcntl.fcntl(slot.task_fd, fcntl.F_GETPIPE_SZ) == slot.task_pipe_size


def test_fit_pipe_grows_only_for_a_frame_that_does_not_fit() -> None:
    r, w = os.pipe()
    try:
        assert fit_pipe(w, 1000, PIPE_SIZE) == PIPE_SIZE
        assert fcntl.fcntl(w, fcntl.F_GETPIPE_SZ) == PIPE_SIZE
        grown = fit_pipe(w, 200_000, PIPE_SIZE)
        assert grown == fcntl.fcntl(w, fcntl.F_GETPIPE_SZ) == 256 << 10
        assert fit_pipe(w, 100 << 20, grown) == fcntl.fcntl(w, fcntl.F_GETPIPE_SZ) >= grown
    finally:
        os.close(r)
        os.close(w)


def test_a_worker_sends_large_results_at_once_and_groups_small_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_worker, "FLUSH_AFTER_SECONDS", 3600.0)  # a stalled test must not flush on time
    sent: list[int] = []
    results = _Results(lambda kind, payload: sent.append(len(payload[0])), flush_each=False, report_memory=False)
    results.add((True, b"s" * 100, 0.0))
    assert sent == []  # small and quick: waits for more
    results.add((True, b"L" * SEND_AT_ONCE_BYTES, 0.0))
    assert sent == [2]  # a large one goes at once, with what was waiting
    results.add((True, b"s" * 100, 0.0))
    results.flush()
    assert sent == [2, 1]


def test_a_function_not_timed_yet_goes_one_task_to_a_worker(pool: Pool) -> None:
    # After tiny tasks the pool sends big batches ahead; the slow tasks of a function it has
    # never timed must not ride along in them: the first two go one to each worker.
    pool.map(t.square, range(64), 1)
    deadline = time.monotonic() + 30
    while not all(slot.ready for slot in pool._backend._slots) and time.monotonic() < deadline:
        time.sleep(0.01)
    pids = pool.map(t.sleep_then_pid, [0.1] * 8, 1)
    assert pids[0] != pids[1], pids
    assert set(pids) == {slot.process.pid for slot in pool._backend._slots}
