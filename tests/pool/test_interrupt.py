"""Ctrl-C in the parent during map: KeyboardInterrupt at once, and no worker left alive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

SCRIPT = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, {targets!r})
    import pool_targets as t
    from processing_pool import Pool

    if __name__ == "__main__":
        pool = Pool(2, context={method!r})
        pids = [slot.process.pid for slot in pool._backend._slots]
        print("PIDS", *pids, flush=True)
        try:
            pool.map(t.sleep_then, [30] * 8, 1)
        except KeyboardInterrupt:
            print("INTERRUPTED", flush=True)
            alive = [slot for slot in pool._backend._slots if slot.process.is_alive()]
            print("ALIVE", len(alive), flush=True)
            sys.exit(3)
        print("NOT INTERRUPTED", flush=True)
    """
)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie reparented to the test process counts as gone once reaped
        return os.waitpid(pid, os.WNOHANG)[0] == pid
    except ChildProcessError:
        return False


@pytest.mark.timeout(60)
def test_ctrl_c_during_map_stops_every_worker(start_method: str, tmp_path: Path) -> None:
    script = tmp_path / "interrupt_me.py"
    script.write_text(SCRIPT.format(targets=str(Path(__file__).parent), method=start_method))
    child = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    assert child.stdout is not None
    first = child.stdout.readline().split()
    assert first[0] == "PIDS", first
    workers = [int(pid) for pid in first[1:]]
    time.sleep(1.0)  # let map() start waiting
    # What a terminal does on Ctrl-C: SIGINT to the parent and its workers alike.
    for pid in (child.pid, *workers):
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            pass
    out, _ = child.communicate(timeout=30)  # raises TimeoutExpired if Ctrl-C is not prompt
    assert "INTERRUPTED" in out and "ALIVE 0" in out, out
    assert child.returncode == 3
    deadline = time.monotonic() + 10
    while not all(_gone(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert all(_gone(pid) for pid in workers)
