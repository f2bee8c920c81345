"""The measurement core: workloads, cases, the interleaved schedule, statistics and ratios.

A *workload* is one fixed amount of work (say 20,000 messages of 64 bytes through a pipe).
A *case* is one implementation's way of doing that work; it returns the seconds it took
for ``units`` units of work.  Every case of a workload runs in the same run, interleaved
(A B C A B C ...), and each row is summarised by the median time per unit, its spread
(quartiles and min-max), and its speed-up against the standard library's row.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import traceback
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

BASELINE = "multiprocessing"

# Row statuses.
OK = "ok"
NOT_YET = "not yet available"  # a `processing` name the case needs does not exist yet
NOT_INSTALLED = "not installed"  # an anchor library could not be imported here
ERROR = "error"  # the case raised (or timed out); the message is kept


class CaseTimeout(Exception):
    """A single sample ran longer than the harness allows."""


@dataclass
class Case:
    """One implementation of a workload.

    ``run`` returns the elapsed seconds for ``units`` units of work; ``unavailable`` (with
    ``status``) says why there is no ``run`` instead.
    """

    impl: str
    run: Callable[[], float] | None
    units: int
    status: str = OK
    unavailable: str = ""
    note: str = ""


@dataclass
class Workload:
    """A fixed amount of work, done by several implementations in one run."""

    id: str
    family: str
    title: str
    unit: str  # what one unit of work is: "message", "round trip", "task", "start", ...
    cases: list[Case]
    bytes_per_unit: int = 0  # > 0: also report bytes per second
    pin_variants: bool = False  # a cross-CPU wake-up dominates: offer a run pinned to one CPU
    series: tuple[str, float] | None = None  # (series name, x) for scaling charts
    pinned: bool = False  # set on the pinned copy of a workload
    baseline: str = BASELINE  # the row every speed-up is measured against
    self_warming: bool = False  # each sample warms up itself (a fresh, warmed pool): no warm-up rounds


@dataclass
class Row:
    """The result of one implementation in one workload."""

    impl: str
    status: str
    units: int
    reason: str = ""
    note: str = ""
    samples: list[float] = field(default_factory=list)  # seconds per unit, one per repetition
    stats: dict[str, float] = field(default_factory=dict)
    speedup: float | None = None  # baseline time per unit / this row's time per unit


def schedule(impls: Sequence[str], repetitions: int, warmup: int = 0) -> list[tuple[int, str]]:
    """The interleaved order of runs: ``(round, impl)``, warm-up rounds numbered below zero.

    Every round runs each implementation once, in the same order, so slow drifts of the
    machine (other jobs, thermal state) fall on all implementations alike.
    """
    if repetitions < 1:
        raise ValueError(f"repetitions must be at least 1, got {repetitions}")
    if warmup < 0:
        raise ValueError(f"warmup must not be negative, got {warmup}")
    return [(round_, impl) for round_ in range(-warmup, repetitions) for impl in impls]


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` by linear interpolation between order statistics."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def summarize(samples: Sequence[float]) -> dict[str, float]:
    """Median, quartiles and extremes of the samples (seconds per unit)."""
    return {
        "median": percentile(samples, 0.5),
        "q1": percentile(samples, 0.25),
        "q3": percentile(samples, 0.75),
        "min": min(samples),
        "max": max(samples),
        "n": float(len(samples)),
    }


def add_speedups(rows: Sequence[Row], baseline: str = BASELINE) -> None:
    """Set each measured row's speed-up against the baseline row (higher is faster)."""
    base = next((r for r in rows if r.impl == baseline and r.status == OK), None)
    for row in rows:
        if base is None or row.status != OK:
            row.speedup = None
        else:
            row.speedup = base.stats["median"] / row.stats["median"]


CLEANUP_SECONDS = 5.0


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise CaseTimeout in the main thread if the block runs longer than ``seconds``.

    The alarm repeats every CLEANUP_SECONDS after that, so clean-up code of a case that hangs
    too (joining a pool whose workers keep dying) is interrupted as well.
    """

    def expire(signum: int, frame: Any) -> None:
        raise CaseTimeout(f"sample exceeded {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds, CLEANUP_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def pinned_to_one_cpu(enabled: bool) -> Iterator[None]:
    """Pin this process (and so every child it starts) to one CPU for the duration."""
    if not enabled:
        yield
        return
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(before)})
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def run_workload(
    workload: Workload,
    repetitions: int,
    warmup: int,
    timeout: float,
    log: Callable[[str], None] = lambda _: None,
) -> list[Row]:
    """Run the workload's cases interleaved and return one summarised row per case."""
    rows = {c.impl: Row(c.impl, c.status, c.units, c.unavailable, c.note) for c in workload.cases}
    cases = {c.impl: c for c in workload.cases}
    runnable = [c.impl for c in workload.cases if c.status == OK and c.run is not None]
    with pinned_to_one_cpu(workload.pinned):
        for round_, impl in schedule(runnable, repetitions, 0 if workload.self_warming else warmup):
            row = rows[impl]
            if row.status != OK:  # failed in an earlier round: do not retry it
                continue
            case = cases[impl]
            try:
                with time_limit(timeout):
                    elapsed = case.run()  # type: ignore[misc]
            except Exception as exc:  # a broken row must not stop the other rows
                row.status = ERROR
                row.reason = _describe(exc)
                log(f"    {impl}: error: {row.reason}")
                continue
            if round_ >= 0:
                row.samples.append(elapsed / case.units)
    for row in rows.values():
        if row.status == OK and row.samples:
            row.stats = summarize(row.samples)
        elif row.status == OK:
            row.status, row.reason = ERROR, "no samples"
    ordered = [rows[c.impl] for c in workload.cases]
    add_speedups(ordered, workload.baseline)
    return ordered


def _describe(exc: BaseException) -> str:
    last = traceback.extract_tb(exc.__traceback__)[-1:] if exc.__traceback__ else []
    where = f" (at {os.path.basename(last[0].filename)}:{last[0].lineno})" if last else ""
    return f"{type(exc).__name__}: {exc}{where}"[:300]


def timed(body: Callable[[], None]) -> float:
    """Seconds that ``body()`` takes on the monotonic performance clock."""
    start = time.perf_counter()
    body()
    return time.perf_counter() - start
