"""How many tasks go in one batch, and how far ahead of a worker batches are sent.

Both answers come from how long a task takes, which is learnt per function: a pool that
first ran tiny tasks must not bunch the slow tasks of its next ``map`` as if they were
tiny, and tasks of a function never timed yet travel one at a time until the first of
them reports back.
"""

from __future__ import annotations

from typing import Any

MAX_BATCH_TASKS = 256
# Batches of single tasks aim at this much work: a worker that dies loses its whole batch,
# so slow tasks travel alone while tiny ones share the cost of a round trip.
TARGET_BATCH_SECONDS = 0.002
PREFETCH_BELOW_SECONDS = 0.005
# Functions remembered; past this the table starts again (it only holds estimates).
KNOWN_FUNCTIONS = 256
# Weight of the newest timing in a function's running average.
NEW_WEIGHT = 0.2


class Pacing:
    """Running per-function estimates of a task's time, and the dispatch choices they make."""

    def __init__(self, workers: int, task_timeout: float | None) -> None:
        self._workers = workers
        self._task_timeout = task_timeout
        # Keyed by id(): any callable can be a task, hashable or not.  A reused id only
        # starts a new function off with an old estimate, which its first results correct.
        self._seconds: dict[int, float] = {}

    def estimate(self, func: Any) -> float | None:
        """The running average of a task's seconds for ``func``, or None before its first result."""
        return self._seconds.get(id(func))

    def record(self, func: Any, seconds: float) -> None:
        """Fold one task's measured ``seconds`` into ``func``'s estimate."""
        table = self._seconds
        key = id(func)
        previous = table.get(key)
        if previous is None:
            if len(table) >= KNOWN_FUNCTIONS:
                table.clear()
            table[key] = seconds
        else:
            table[key] = (1.0 - NEW_WEIGHT) * previous + NEW_WEIGHT * seconds

    def batch_size(self, func: Any, pending: int) -> int:
        """How many of ``pending`` queued tasks of ``func`` the next batch takes."""
        if self._task_timeout is not None:
            return 1  # a deadline is per task: one at a time
        seconds = self.estimate(func)
        if seconds is None:
            return 1
        cap = max(1, min(MAX_BATCH_TASKS, int(TARGET_BATCH_SECONDS / max(seconds, 1e-7))))
        # Leave enough for every worker to get a second batch, so the tail is shared.
        return max(1, min(cap, -(-pending // (2 * self._workers))))

    def may_send_ahead(self, func: Any, pending: int) -> bool:
        """Whether a worker still busy with a batch may be given the next one now.

        Sent ahead, a batch starts the moment the one before it ends, with no round trip
        to the parent in between; but it is then bound to that worker, and waits there
        should the task before it run long while another worker idles.  Short tasks are
        always sent ahead.  Long ones only while more tasks remain queued than there are
        workers, so that whichever worker frees up first still finds one to take, and
        never before the function has been timed.
        """
        if self._task_timeout is not None:
            return False
        seconds = self.estimate(func)
        if seconds is None:
            return False
        return seconds < PREFETCH_BELOW_SECONDS or pending > self._workers
