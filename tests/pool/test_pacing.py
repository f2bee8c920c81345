"""The pool's pacing: batch sizes and sending ahead, from per-function task timings."""

from __future__ import annotations

import pytest
from processing_pool._pacing import MAX_BATCH_TASKS, PREFETCH_BELOW_SECONDS, Pacing


def tiny() -> None: ...


def slow() -> None: ...


def test_a_function_never_timed_travels_alone_and_is_not_sent_ahead() -> None:
    pacing = Pacing(2, None)
    assert pacing.estimate(slow) is None
    assert pacing.batch_size(slow, 1000) == 1
    assert not pacing.may_send_ahead(slow, 1000)


def test_timings_are_kept_per_function() -> None:
    pacing = Pacing(2, None)
    pacing.record(tiny, 1e-6)
    assert pacing.batch_size(tiny, 100_000) == MAX_BATCH_TASKS
    # Another function is not judged by the tiny one's timings.
    assert pacing.estimate(slow) is None
    assert pacing.batch_size(slow, 100_000) == 1


def test_estimates_follow_a_running_average() -> None:
    pacing = Pacing(2, None)
    pacing.record(slow, 1.0)
    pacing.record(slow, 2.0)
    estimate = pacing.estimate(slow)
    assert estimate is not None and 1.0 < estimate < 2.0


def test_tiny_tasks_are_batched_but_leave_a_share_for_every_worker() -> None:
    pacing = Pacing(4, None)
    pacing.record(tiny, 1e-6)
    # 40 queued on 4 workers: at most 40 / (2 * 4) = 5 in one batch.
    assert pacing.batch_size(tiny, 40) == 5
    assert pacing.batch_size(tiny, 1) == 1


def test_slow_tasks_travel_alone() -> None:
    pacing = Pacing(2, None)
    pacing.record(slow, 0.5)
    assert pacing.batch_size(slow, 1000) == 1


def test_short_tasks_are_always_sent_ahead() -> None:
    pacing = Pacing(2, None)
    pacing.record(tiny, PREFETCH_BELOW_SECONDS / 10)
    assert pacing.may_send_ahead(tiny, 1)


@pytest.mark.parametrize(("pending", "expected"), [(100, True), (3, True), (2, False), (1, False)])
def test_long_tasks_are_sent_ahead_only_while_every_worker_would_still_find_one(pending: int, expected: bool) -> None:
    pacing = Pacing(2, None)
    pacing.record(slow, PREFETCH_BELOW_SECONDS * 10)
    assert pacing.may_send_ahead(slow, pending) is expected


def test_a_task_timeout_means_one_task_at_a_time() -> None:
    pacing = Pacing(2, 5.0)
    pacing.record(tiny, 1e-6)
    assert pacing.batch_size(tiny, 1000) == 1
    assert not pacing.may_send_ahead(tiny, 1000)


def test_the_table_of_functions_stays_bounded() -> None:
    pacing = Pacing(2, None)
    functions = [lambda: None for _ in range(1000)]
    for func in functions:
        pacing.record(func, 0.1)
    assert len(pacing._seconds) <= 256
    assert pacing.estimate(functions[-1]) == pytest.approx(0.1)
