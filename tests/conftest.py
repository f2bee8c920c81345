"""Fixtures shared by the whole behavioural suite.

* ``start_method``: parametrises a test over fork, spawn and forkserver.
* An autouse leak check: a test fails if it leaves a live child process or a new
  ``/dev/shm`` entry behind; the leftovers are then cleaned up so the next test
  starts clean.  The test process is made a child subreaper, so grandchildren
  orphaned by a test are reparented to it and cannot escape the check.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

START_METHODS = ("fork", "spawn", "forkserver")
SHM_DIR = Path("/dev/shm")
PR_SET_CHILD_SUBREAPER = 36
# Long-lived helpers that outlive single tests by design (the standard library's, for
# comparisons); our own are reported by processing_core._helpers.helper_pids().
FOREIGN_HELPER_MARKERS = (b"multiprocessing.forkserver", b"multiprocessing.resource_tracker")
LEFTOVER_GRACE_SECONDS = 3.0


def _become_subreaper() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)


_become_subreaper()


def _read_stat(pid: int) -> tuple[str, int] | None:
    """Return (state, parent pid) of a process from /proc, or None if it is gone."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    fields = raw[raw.rfind(b")") + 2 :].split()
    return fields[0].decode(), int(fields[1])


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").strip()
    except OSError:
        return b""


def _helper_pids() -> set[int]:
    try:
        from processing_core._helpers import helper_pids
    except ImportError:
        return set()
    return set(helper_pids())


def _children(*, zombies: bool) -> dict[int, bytes]:
    """Children of this process (live ones, or zombies), minus long-lived helpers, with cmdlines."""
    me = os.getpid()
    helpers = _helper_pids()
    found: dict[int, bytes] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        stat = _read_stat(pid)
        if stat is None or stat[1] != me or (stat[0] == "Z") != zombies or pid in helpers:
            continue
        cmdline = _cmdline(pid)
        if any(marker in cmdline for marker in FOREIGN_HELPER_MARKERS):
            continue
        found[pid] = cmdline
    return found


def _live_children() -> dict[int, bytes]:
    return _children(zombies=False)


def _reap(pids: set[int]) -> None:
    """Reap the given zombie children: only ones a finished test left, never anyone else's."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)


def _shm_entries() -> set[str]:
    try:
        return set(os.listdir(SHM_DIR))
    except FileNotFoundError:
        return set()


@pytest.fixture(params=START_METHODS)
def start_method(request: pytest.FixtureRequest) -> str:
    """The name of a start method; a test using it runs once per method."""
    return str(request.param)


@pytest.fixture
def ctx(start_method: str):  # processing_core is imported lazily: no annotation
    """The ``processing_core`` context of ``start_method``; a test using it runs once per method."""
    import processing_core

    return processing_core.get_context(start_method)


@pytest.fixture(autouse=True)
def no_leaks(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail the test if it leaves child processes or /dev/shm entries behind."""
    shm_before = _shm_entries()
    children_before = set(_live_children()) | set(_children(zombies=True))
    yield
    deadline = time.monotonic() + LEFTOVER_GRACE_SECONDS
    leftovers = {p: c for p, c in _live_children().items() if p not in children_before}
    while leftovers and time.monotonic() < deadline:
        time.sleep(0.05)
        leftovers = {p: c for p, c in _live_children().items() if p not in children_before}
    new_shm = _shm_entries() - shm_before
    problems = []
    if leftovers:
        problems.append(
            "child processes left running: "
            + ", ".join(f"{pid} ({cmd.decode(errors='replace')[:80]})" for pid, cmd in sorted(leftovers.items()))
        )
        for pid in leftovers:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    if new_shm:
        problems.append("/dev/shm entries left behind: " + ", ".join(sorted(new_shm)))
        for name in new_shm:
            with contextlib.suppress(OSError):
                (SHM_DIR / name).unlink()
    if leftovers:
        time.sleep(0.1)
    # Orphaned grandchildren are reparented to this subreaper; reap what this test left.
    _reap(set(_children(zombies=True)) - children_before)
    if problems:
        pytest.fail("; ".join(problems), pytrace=False)
