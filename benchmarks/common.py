"""What every workload family shares: the run mode's sizes, implementation look-up, child control.

The ``processing`` rows are looked up by the public names users import (``processing.Pipe``,
``processing.get_context("fork").Queue``...) when the harness runs: a missing name makes the
row "not yet available", never a stand-in.  Anchor libraries that do not import here are
reported "not installed".
"""

from __future__ import annotations

import contextlib
import importlib
import os
import signal
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from benchmarks.harness import NOT_INSTALLED, NOT_YET, Case

MODES = ("smoke", "quick", "full")
ANCHORS = {
    # row name -> module to import
    "multiprocessing": "multiprocessing",
    "concurrent.futures": "concurrent.futures",
    "faster-fifo": "faster_fifo",
    "mpire": "mpire",
    "loky": "loky",
    "billiard": "billiard",
}
FORK = "fork"  # data-path workloads start their children by fork, the same for every row


@dataclass(frozen=True)
class Scale:
    """Picks a size for the run mode: full measures, quick looks, smoke only proves the pipeline."""

    mode: str

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {self.mode!r}")

    def n(self, full: int, quick: int, smoke: int) -> int:
        return {"full": full, "quick": quick, "smoke": smoke}[self.mode]


class Missing(Exception):
    """An implementation cannot run a case; ``status`` says why (not yet / not installed)."""

    def __init__(self, status: str, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def anchor(row: str) -> ModuleType:
    """Import an anchor library, or raise Missing(NOT_INSTALLED)."""
    try:
        return importlib.import_module(ANCHORS[row])
    except Exception as exc:  # any import failure means the row cannot be measured here
        raise Missing(NOT_INSTALLED, f"{ANCHORS[row]} does not import: {type(exc).__name__}: {exc}") from exc


def processing_api(*names: str, context: str | None = None) -> Any:
    """The ``processing`` module (or its context ``context``) with every name in ``names``.

    Raises Missing(NOT_YET) naming what is absent, so the row reads "not yet available".
    """
    try:
        module = importlib.import_module("processing")
    except Exception as exc:
        raise Missing(NOT_YET, f"import processing failed: {type(exc).__name__}: {exc}") from exc
    target: Any = module
    if context is not None:
        if not hasattr(module, "get_context"):
            raise Missing(NOT_YET, "missing processing.get_context")
        try:
            target = module.get_context(context)
        except Exception as exc:
            raise Missing(NOT_YET, f"processing.get_context({context!r}) raised {type(exc).__name__}: {exc}") from exc
    missing = [name for name in names if not hasattr(target, name)]
    if missing:
        prefix = f"processing.get_context({context!r})." if context else "processing."
        raise Missing(NOT_YET, "missing " + ", ".join(prefix + name for name in missing))
    return target


def stdlib(context: str | None = None) -> Any:
    import multiprocessing

    return multiprocessing.get_context(context) if context else multiprocessing


def billiard_api(context: str | None = None) -> Any:
    module = anchor("billiard")
    return module.get_context(context) if context else module


def build(impl: str, units: int, lookup: Callable[[], Any], run: Callable[[Any], float], note: str = "") -> Case:
    """A Case: ``lookup()`` finds the implementation's API (or raises Missing), ``run(api)`` times it."""
    try:
        api = lookup()
    except Missing as missing:
        return Case(impl, None, units, status=missing.status, unavailable=missing.reason, note=note)
    return Case(impl, lambda: run(api), units, note=note)


def nothing() -> None:
    """The look-up of rows that need no library (the raw OS floor)."""
    return None


def read_exact(fd: int, size: int) -> bytes:
    chunks = []
    while size:
        chunk = os.read(fd, size)
        if not chunk:
            raise EOFError("pipe closed early")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


class Gate:
    """Start line and finish line for children, on bare OS pipes (the same for every row).

    Children call ``arrive()`` (ready, then wait for the start) and ``finish()``; the parent
    calls ``race(count, body)``, which times from the start signal until ``count`` children
    have finished (``body`` runs in the parent in between, e.g. the producer's loop).
    """

    def __init__(self) -> None:
        self.ready_r, self.ready_w = os.pipe()
        self.go_r, self.go_w = os.pipe()
        self.done_r, self.done_w = os.pipe()

    def arrive(self) -> None:
        os.write(self.ready_w, b"r")
        read_exact(self.go_r, 1)

    def finish(self) -> None:
        os.write(self.done_w, b"d")

    def race(self, count: int, body: Callable[[], None] | None = None) -> float:
        read_exact(self.ready_r, count)
        start = time.perf_counter()
        os.write(self.go_w, b"g" * count)
        if body is not None:
            body()
        read_exact(self.done_r, count)
        return time.perf_counter() - start

    def close(self) -> None:
        for fd in (self.ready_r, self.ready_w, self.go_r, self.go_w, self.done_r, self.done_w):
            with contextlib.suppress(OSError):
                os.close(fd)


@contextlib.contextmanager
def children() -> Iterator[list[Any]]:
    """A list to append started children to (process objects or bare pids); all are reaped on exit.

    On an error or timeout the stragglers are killed, so a broken row leaves nothing behind.
    """
    started: list[Any] = []
    try:
        yield started
    finally:
        for child in started:
            _reap(child)


def _reap(child: Any, grace: float = 5.0) -> None:
    if isinstance(child, int):
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            try:
                pid, _ = os.waitpid(child, os.WNOHANG)
            except ChildProcessError:
                return
            if pid:
                return
            time.sleep(0.005)
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)
        with contextlib.suppress(ChildProcessError):
            os.waitpid(child, 0)
        return
    with contextlib.suppress(Exception):
        child.join(grace)
    with contextlib.suppress(Exception):
        if child.is_alive():
            child.kill()
            child.join(grace)


def fork_child(body: Callable[[], None]) -> int:
    """os.fork a child that runs ``body`` and exits at once (the raw floor's way to start)."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            body()
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    return pid
