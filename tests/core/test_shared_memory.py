"""SharedMemory: creating, attaching, sizes, errors, closing, unlinking, tracking."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # spawned children import the targets by name
import shm_targets as targets
from processing_core._resource_tracker import ENV_VAR
from processing_core.shared_memory import SharedMemory

pytestmark = pytest.mark.timeout(60)


def test_create_write_attach_read_unlink() -> None:
    with SharedMemory(create=True, size=64) as shm:
        assert shm.size == 64
        assert Path("/dev/shm", shm.name).exists()
        shm.buf[:5] = b"hello"
        with SharedMemory(shm.name) as other:
            assert bytes(other.buf[:5]) == b"hello"
            assert other.size == 64
        shm.unlink()
    assert not Path("/dev/shm", shm.name).exists()


def test_name_is_reported_as_given() -> None:
    name = f"prc_test_{os.getpid()}"
    shm = SharedMemory(name, create=True, size=10)
    try:
        assert shm.name == name
        assert repr(shm) == f"SharedMemory({name!r}, size=10)"
        slashed = SharedMemory("/" + name)
        assert slashed.name == "/" + name
        slashed.close()
    finally:
        shm.close()
        shm.unlink()


def test_missing_name_raises_file_not_found() -> None:
    with pytest.raises(FileNotFoundError):
        SharedMemory(f"prc_missing_{os.getpid()}")


def test_existing_name_raises_file_exists() -> None:
    shm = SharedMemory(create=True, size=8)
    try:
        with pytest.raises(FileExistsError):
            SharedMemory(shm.name, create=True, size=8)
    finally:
        shm.close()
        shm.unlink()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"create": True, "size": 0}, ValueError),
        ({"create": True, "size": -1}, ValueError),
        ({"create": True, "size": 1.5}, TypeError),
        ({}, ValueError),
        ({"name": "a/b", "create": True, "size": 8}, ValueError),
        ({"name": "", "create": True, "size": 8}, ValueError),
    ],
)
def test_bad_arguments(kwargs: dict, error: type[Exception]) -> None:
    with pytest.raises(error):
        SharedMemory(**kwargs)


def test_attaching_with_a_larger_size_is_refused() -> None:
    shm = SharedMemory(create=True, size=16)
    try:
        with pytest.raises(ValueError, match="smaller"):
            SharedMemory(shm.name, size=17)
        with SharedMemory(shm.name, size=8) as smaller:
            assert smaller.size == 16
    finally:
        shm.close()
        shm.unlink()


def test_close_with_live_views_raises_buffer_error_and_keeps_working() -> None:
    shm = SharedMemory(create=True, size=16)
    view = shm.buf[2:4]
    with pytest.raises(BufferError):
        shm.close()
    view.release()
    shm.buf[0] = 7
    shm.close()
    with pytest.raises(ValueError, match="closed"):
        shm.buf
    shm.unlink()
    with pytest.raises(FileNotFoundError):
        shm.unlink()


def test_pickles_by_name() -> None:
    shm = SharedMemory(create=True, size=8)
    try:
        shm.buf[0] = 42
        copy = pickle.loads(pickle.dumps(shm))
        assert copy.name == shm.name and copy.buf[0] == 42
        copy.close()
    finally:
        shm.close()
        shm.unlink()


def test_child_writes_parent_reads(ctx) -> None:  # type: ignore[no-untyped-def]
    shm = SharedMemory(create=True, size=32)
    try:
        p = ctx.Process(target=targets.write_shared_memory, args=(shm.name, b"from the child"))
        p.start()
        p.join(30)
        assert p.exitcode == 0
        assert bytes(shm.buf[:14]) == b"from the child"
    finally:
        shm.close()
        shm.unlink()


def _run(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a new family (not joined to this process's resource tracker)."""
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False, env=env
    )


def test_untracked_segment_outlives_its_creator() -> None:
    name = f"prc_untracked_{os.getpid()}"
    result = _run(
        f"""
        from processing_core.shared_memory import SharedMemory
        shm = SharedMemory({name!r}, create=True, size=8, track=False)
        shm.buf[0] = 9
        shm.close()
        """
    )
    assert result.returncode == 0, result.stderr
    try:
        with SharedMemory(name, track=False) as shm:
            assert shm.buf[0] == 9
    finally:
        SharedMemory(name, track=False).unlink()


def test_tracked_segment_left_behind_is_unlinked_when_its_creator_exits() -> None:
    result = _run(
        """
        from processing_core.shared_memory import SharedMemory
        from processing_core import _resource_tracker
        shm = SharedMemory(create=True, size=8)
        print(shm.name, _resource_tracker.tracker_pid())
        shm.close()
        """
    )
    assert result.returncode == 0, result.stderr
    name, tracker = result.stdout.split()
    _wait_for_exit(int(tracker))
    assert not Path("/dev/shm", name).exists()
    assert f"unlinked shared memory '/{name}' left behind" in result.stderr


def _wait_for_exit(pid: int) -> None:
    """Wait for a tracker whose parent is gone (it may have been reparented to us)."""
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                return
        except ChildProcessError:
            if not Path(f"/proc/{pid}").exists():
                return
        time.sleep(0.02)
    raise AssertionError(f"tracker {pid} did not exit")
