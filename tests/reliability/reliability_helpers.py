"""Helpers of the reliability suite: process families marked for the leak scan, memory
readings, and the run's figures (faults survived, inputs tried, items carried, leaks found)."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

HERE = Path(__file__).parent
MARKER_VAR = "PROCESSING_RELIABILITY_MARKER"
FIGURES: Counter[str] = Counter()


def count(figure: str, amount: int = 1) -> None:
    """Add to one of the run's figures (printed in the terminal summary)."""
    FIGURES[figure] += amount


def marked_processes(marker: str) -> dict[int, str]:
    """Live (non-zombie) processes whose environment or command line carries ``marker``."""
    found: dict[int, str] = {}
    needle = marker.encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat_line = Path(f"/proc/{entry}/stat").read_bytes()
            if stat_line[stat_line.rfind(b")") + 2 :].split()[0] == b"Z":
                continue
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
            environ = Path(f"/proc/{entry}/environ").read_bytes()
        except OSError:
            continue
        if needle in cmdline or needle in environ:
            found[int(entry)] = cmdline.replace(b"\0", b" ").decode(errors="replace")[:120]
    return found


def wait_until_none_marked(marker: str, timeout: float = 30.0) -> dict[int, str]:
    """Wait (bounded) for every marked process to end; return those still alive."""
    deadline = time.monotonic() + timeout
    left = marked_processes(marker)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = marked_processes(marker)
    return left


def socket_files(directory: Path) -> list[str]:
    """Unix socket files anywhere under ``directory``."""
    found = []
    for root, _dirs, files in os.walk(directory):
        for name in files:
            path = Path(root, name)
            try:
                if stat.S_ISSOCK(path.lstat().st_mode):
                    found.append(str(path))
            except OSError:
                continue
    return found


def shm_entries() -> set[str]:
    try:
        return set(os.listdir("/dev/shm"))
    except FileNotFoundError:
        return set()


def rss_bytes(pid: int | str = "self") -> int:
    """Resident set size of a process, from /proc/<pid>/statm."""
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


class Family:
    """A script run in a subprocess with a unique marker in its (inherited) environment
    and a private temporary directory, so that what it leaves behind can be found."""

    def __init__(self) -> None:
        self.marker = f"rel-{uuid.uuid4().hex}"
        # Short: AF_UNIX paths are limited to 107 bytes, pytest's tmp_path can be longer.
        self.tmpdir = Path(tempfile.mkdtemp(prefix="rel-", dir="/tmp"))
        self.env = dict(os.environ, TMPDIR=str(self.tmpdir), **{MARKER_VAR: self.marker})
        self.env.pop("PROCESSING_RESOURCE_TRACKER", None)  # a tracker of its own
        self.env["PYTHONPATH"] = os.pathsep.join([str(HERE), self.env.get("PYTHONPATH", "")])

    def popen(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, *args],
            cwd=HERE,
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def run(self, *args: str, timeout: float = 90.0) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, *args], cwd=HERE, env=self.env, capture_output=True, text=True, timeout=timeout
        )

    def leftovers(self) -> dict[str, object]:
        """What the family left: live processes, socket files (empty when clean)."""
        left: dict[str, object] = {}
        processes = wait_until_none_marked(self.marker)
        if processes:
            left["processes"] = processes
        sockets = socket_files(self.tmpdir)
        if sockets:
            left["socket files"] = sockets
        return left

    def kill_leftovers(self) -> None:
        for pid in marked_processes(self.marker):
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass


@pytest.fixture
def family() -> Iterator[Family]:
    fam = Family()
    try:
        yield fam
    finally:
        fam.kill_leftovers()
        shutil.rmtree(fam.tmpdir, ignore_errors=True)


class RssWatcher:
    """Samples the resident set size of some processes at intervals, in a thread.

    ``growth()`` compares each process's last reading with its reading a quarter of the
    way through (after warm-up): a leak grows without bound, a working set does not.
    """

    def __init__(self, pids: Callable[[], Iterable[int]], interval: float = 0.02) -> None:
        self._pids = pids
        self._interval = interval
        self.samples: dict[int, list[int]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for pid in list(self._pids()):
                try:
                    self.samples.setdefault(pid, []).append(rss_bytes(pid))
                except (OSError, ValueError, IndexError):
                    continue

    def __enter__(self) -> RssWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)

    def growth(self) -> dict[int, int]:
        """Growth in bytes, per process sampled at least 8 times, after warm-up."""
        grown = {}
        for pid, series in self.samples.items():
            if len(series) >= 8:
                grown[pid] = series[-1] - series[len(series) // 4]
        return grown

    def readings(self) -> int:
        return sum(len(series) for series in self.samples.values())


def self_and_children() -> list[int]:
    """This process and its live children, from /proc."""
    me, found = os.getpid(), [os.getpid()]
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            fields = raw[raw.rfind(b")") + 2 :].split()
            if fields[0] != b"Z" and int(fields[1]) == me:
                found.append(int(entry))
    return found
