"""Where and with what a run was measured: machine, date, Python, library versions, git commit."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import ANCHORS

ROOT = Path(__file__).resolve().parents[1]
OUR_DISTRIBUTIONS = ("processing", "processing-core", "processing-sync", "processing-pool", "processing-managers")
ANCHOR_DISTRIBUTIONS = {"faster-fifo": "faster-fifo", "mpire": "mpire", "loky": "loky", "billiard": "billiard"}


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _memory_bytes() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def machine() -> dict[str, Any]:
    return {
        "cpu_model": _cpu_model(),
        "cores": os.cpu_count() or 0,
        "cores_usable": len(os.sched_getaffinity(0)),
        "memory_bytes": _memory_bytes(),
        "platform": platform.platform(),
        "load_average_at_start": list(os.getloadavg()),
    }


def python_info() -> dict[str, str]:
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
    }


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {name: _version(name) for name in OUR_DISTRIBUTIONS}
    found.update({row: _version(dist) for row, dist in ANCHOR_DISTRIBUTIONS.items()})
    return found


def anchors() -> dict[str, dict[str, str]]:
    """Each anchor library: does it import here (and if not, why)."""
    report = {}
    for row, module in ANCHORS.items():
        try:
            __import__(module)
        except Exception as exc:  # reported, never dropped silently
            report[row] = {"status": "not installed", "error": f"{type(exc).__name__}: {exc}"}
        else:
            report[row] = {"status": "ok", "error": ""}
    return report


def git() -> dict[str, Any]:
    def run(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "commit": run("rev-parse", "HEAD") or None,
        "dirty": bool(run("status", "--porcelain", "--untracked-files=no")),
    }


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat()
