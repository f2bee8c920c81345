"""The leak check itself must be able to fail: a test that leaks is reported."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

CONFTEST = Path(__file__).with_name("conftest.py")


def _run_inner_suite(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "conftest.py").write_text(CONFTEST.read_text())
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )


def test_a_leaked_child_process_fails_the_test(tmp_path: Path) -> None:
    result = _run_inner_suite(
        tmp_path,
        """
        import subprocess, sys
        def test_leaks_a_child():
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        """,
    )
    assert result.returncode == 1, result.stdout
    assert "child processes left running" in result.stdout


def test_a_leaked_shared_memory_entry_fails_the_test(tmp_path: Path) -> None:
    result = _run_inner_suite(
        tmp_path,
        """
        import os
        def test_leaks_a_segment():
            fd = os.open("/dev/shm/processing-leak-fixture-test", os.O_CREAT | os.O_RDWR, 0o600)
            os.close(fd)
        """,
    )
    assert result.returncode == 1, result.stdout
    assert "/dev/shm entries left behind: processing-leak-fixture-test" in result.stdout
    assert not Path("/dev/shm/processing-leak-fixture-test").exists()


def test_a_clean_test_passes(tmp_path: Path) -> None:
    result = _run_inner_suite(
        tmp_path,
        """
        import subprocess, sys
        def test_clean(start_method):
            subprocess.run([sys.executable, "-c", "pass"], check=True)
            assert start_method in ("fork", "spawn", "forkserver")
        """,
    )
    assert result.returncode == 0, result.stdout
    assert "3 passed" in result.stdout
