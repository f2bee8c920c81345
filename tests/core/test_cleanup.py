"""Nothing named outlives its users: SIGKILL a whole family at awkward moments, then
check that /dev/shm holds nothing of theirs and that the resource tracker has gone."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from processing_core._resource_tracker import ENV_VAR

FAMILY = textwrap.dedent(
    """
    import os, sys, time
    import processing_core
    from processing_core import RawValue, RawArray, SharedMemory, ShareableList
    from processing_core._resource_tracker import tracker_pid
    from processing_core._semaphore import SemLock, SEMAPHORE, RECURSIVE_MUTEX

    def hold_lock_forever(lock, ready, name):
        shm = SharedMemory(name)               # attached, in use
        own = SharedMemory(create=True, size=4096)   # created by the child itself
        print("NAME", own.name, flush=True)
        print("CHILD_TRACKER", tracker_pid(), flush=True)  # None: it joined the family's
        lock.acquire()
        ready.release()
        while True:
            shm.buf[0] = (shm.buf[0] + 1) % 256
            time.sleep(0.001)

    def churn(ready):
        ready.release()
        kept = []
        while True:                             # killed mid-allocation, mid-create/unlink
            kept.append(RawArray("d", 64))
            kept.append(RawValue("i", 1))
            kept.append(SemLock(SEMAPHORE, 1, 1))
            if len(kept) > 3000:
                del kept[:1500]
            s = SharedMemory(create=True, size=1024)
            s.close()
            s.unlink()

    if __name__ == "__main__":
        ctx = processing_core.get_context(sys.argv[1])
        first = SharedMemory(create=True, size=1 << 16)
        listed = ShareableList([1, 2.5, "three", b"four", None, True])
        print("NAME", first.name, flush=True)
        print("NAME", listed.shm.name, flush=True)
        lock = SemLock(RECURSIVE_MUTEX, 1, 1)
        ready = SemLock(SEMAPHORE, 0, 10)
        workers = [
            ctx.Process(target=hold_lock_forever, args=(lock, ready, first.name)),
            ctx.Process(target=churn, args=(ready,)),
            ctx.Process(target=churn, args=(ready,)),
        ]
        for p in workers:
            p.start()
        for _ in workers:
            assert ready.acquire(timeout=60)
        time.sleep(0.2)                         # let the churn run
        print("READY", tracker_pid(), flush=True)
        while True:
            time.sleep(1)
    """
)


def _wait_gone(pid: int, timeout: float = 30.0) -> None:
    """Reap or outwait ``pid`` (the tracker is reparented to this subreaper)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:
            if not Path(f"/proc/{pid}").exists():
                return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still alive after {timeout}s")


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_sigkill_of_the_whole_family_leaves_nothing_in_dev_shm(start_method: str, tmp_path: Path) -> None:
    script = tmp_path / "family.py"
    script.write_text(FAMILY)
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}  # a family of its own
    root = subprocess.Popen(
        [sys.executable, str(script), start_method],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        start_new_session=True,
    )
    names: list[str] = []
    child_trackers: list[str] = []
    tracker = None
    try:
        assert root.stdout is not None
        for line in root.stdout:
            word, _, rest = line.strip().partition(" ")
            if word == "NAME":
                names.append(rest)
            elif word == "CHILD_TRACKER":
                child_trackers.append(rest)
            elif word == "READY":
                tracker = int(rest)
                break
        assert tracker is not None, root.stderr.read() if root.stderr else ""
        assert all(Path("/dev/shm", name).exists() for name in names)
    finally:
        os.killpg(root.pid, signal.SIGKILL)  # the root, every child, all at once
        root.wait(30)
    _wait_gone(tracker)
    stderr = root.stderr.read() if root.stderr else ""
    leftovers = [name for name in names if Path("/dev/shm", name).exists()]
    assert leftovers == [], f"names {names}; family's stderr:\n{stderr}"
    assert len(names) == 3  # two made by the root, one by a child
    # The child used the family's tracker rather than starting one of its own.
    assert child_trackers in (["None"], [str(tracker)])
    assert "unlinked shared memory" in stderr


HANDED_BACK = textwrap.dedent(
    """
    import sys, time
    import processing_core
    from processing_core import RawArray, SharedMemory

    def make_segment(out):
        shm = SharedMemory(create=True, size=16)   # this child starts the family's tracker
        shm.buf[0] = 7
        out.value = shm.name.encode()
        shm.close()                                # and exits without unlinking

    if __name__ == "__main__":
        ctx = processing_core.get_context(sys.argv[1])
        out = RawArray("c", 64)
        child = ctx.Process(target=make_segment, args=(out,))
        child.start()
        child.join()
        time.sleep(0.2)
        shm = SharedMemory(out.value.decode())     # still there: the tracker waits for us too
        print("ATTACHED", shm.name, shm.buf[0], flush=True)
        shm.close()
    """
)


@pytest.mark.timeout(120)
def test_a_segment_made_by_a_child_outlives_the_child_until_the_parent_ends(start_method: str, tmp_path: Path) -> None:
    script = tmp_path / "handed_back.py"
    script.write_text(HANDED_BACK)
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    # capture_output waits for the tracker too: it holds the family's stderr until it exits.
    result = subprocess.run(
        [sys.executable, str(script), start_method], capture_output=True, text=True, env=env, timeout=90, check=False
    )
    assert result.returncode == 0, result.stderr
    word, name, value = result.stdout.split()
    assert (word, value) == ("ATTACHED", "7")
    assert f"unlinked shared memory '/{name}'" in result.stderr
    assert not Path("/dev/shm", name).exists()
