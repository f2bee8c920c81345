"""Barrier: one suite, run with processes (fork, spawn, forkserver) and threading twins."""

from __future__ import annotations

import threading
import time

import pytest
import sync_twins
from sync_twins import Backend

WAIT = 30.0


def wait_until(predicate) -> None:
    # No deadline of its own: the test's hard timeout (pytest-timeout) ends a hang.
    while not predicate():
        time.sleep(0.005)


def test_barrier_attributes_and_validation(backend: Backend) -> None:
    barrier = backend.Barrier(3)
    assert barrier.parties == 3
    assert barrier.n_waiting == 0
    assert barrier.broken is False
    if backend.uses_processes:  # threading before 3.13 accepts it
        with pytest.raises(ValueError):
            backend.Barrier(0)


def test_barrier_gives_each_party_a_distinct_index(backend: Backend) -> None:
    barrier = backend.Barrier(4)
    workers = [backend.start(sync_twins.pass_barrier, barrier, WAIT) for _ in range(3)]
    wait_until(lambda: barrier.n_waiting == 3)
    mine = barrier.wait(WAIT)
    codes = backend.join(*workers)
    assert sorted([mine, *(code - 10 for code in codes)]) == [0, 1, 2, 3]
    assert barrier.n_waiting == 0
    assert barrier.broken is False


def test_barrier_can_be_used_again(backend: Backend) -> None:
    barrier = backend.Barrier(2)
    for _ in range(3):
        worker = backend.start(sync_twins.pass_barrier, barrier, WAIT)
        assert barrier.wait(WAIT) in (0, 1)
        assert backend.join(worker)[0] in (10, 11)


def test_barrier_timeout_breaks_it_for_everyone(backend: Backend) -> None:
    barrier = backend.Barrier(3)
    worker = backend.start(sync_twins.pass_barrier, barrier, WAIT)
    wait_until(lambda: barrier.n_waiting == 1)
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(0.05)
    assert backend.join(worker) == [2]
    assert barrier.broken is True
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait(WAIT)


def test_barrier_default_timeout(backend: Backend) -> None:
    barrier = backend.Barrier(2, timeout=0.05)
    with pytest.raises(threading.BrokenBarrierError):
        barrier.wait()
    assert barrier.broken


def test_barrier_abort_releases_waiters(backend: Backend) -> None:
    barrier = backend.Barrier(3)
    workers = [backend.start(sync_twins.pass_barrier, barrier, WAIT) for _ in range(2)]
    wait_until(lambda: barrier.n_waiting == 2)
    barrier.abort()
    assert backend.join(*workers) == [2, 2]
    assert barrier.broken is True


def test_barrier_reset_breaks_current_waiters_and_reopens(backend: Backend) -> None:
    barrier = backend.Barrier(2)
    worker = backend.start(sync_twins.pass_barrier, barrier, WAIT)
    wait_until(lambda: barrier.n_waiting == 1)
    barrier.reset()
    assert backend.join(worker) == [2]
    assert barrier.broken is False
    assert barrier.n_waiting == 0
    worker = backend.start(sync_twins.pass_barrier, barrier, WAIT)
    assert barrier.wait(WAIT) in (0, 1)
    assert backend.join(worker)[0] in (10, 11)


def test_barrier_reset_repairs_a_broken_barrier(backend: Backend) -> None:
    barrier = backend.Barrier(2)
    barrier.abort()
    assert barrier.broken
    barrier.reset()
    assert not barrier.broken
    worker = backend.start(sync_twins.pass_barrier, barrier, WAIT)
    assert barrier.wait(WAIT) in (0, 1)
    assert backend.join(worker)[0] in (10, 11)


def _fail() -> None:
    raise ZeroDivisionError


def test_barrier_action_failure_breaks_it(backend: Backend) -> None:
    barrier = backend.Barrier(1, action=_fail)
    with pytest.raises(ZeroDivisionError):
        barrier.wait(WAIT)
    assert barrier.broken


def test_barrier_action_runs_once_per_round(backend: Backend) -> None:
    runs = []
    barrier = backend.Barrier(1, action=lambda: runs.append(1))
    assert barrier.wait(WAIT) == 0
    assert barrier.wait(WAIT) == 0
    assert runs == [1, 1]


@pytest.mark.slow
def test_barrier_many_rounds_many_parties(backend: Backend) -> None:
    barrier, tally = backend.Barrier(4), backend.Value("i", 0)
    workers = [backend.start(sync_twins.barrier_rounds, barrier, 50, tally) for _ in range(4)]
    assert backend.join(*workers) == [0, 0, 0, 0]
    assert tally.value == 200
    assert not barrier.broken
