"""Progress reporting for ``map``, ``starmap``, ``imap`` and ``imap_unordered``.

``progress=True`` draws a bar with tqdm when it is installed and a plain one-line
counter on standard error otherwise; ``progress=callable`` calls ``callable(done, total)``
after each finished chunk (``total`` is ``None`` while the input's length is unknown).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Any

ProgressOption = bool | Callable[[int, int | None], object] | None

_PLAIN_INTERVAL = 0.2


class Progress:
    """Counts finished items of one job and reports them; safe to update from any thread."""

    def __init__(self, total: int | None) -> None:
        self.total = total
        self.done = 0
        self._lock = threading.Lock()
        self._closed = False

    def update(self, count: int) -> None:
        """Record ``count`` more finished items."""
        with self._lock:
            if self._closed:
                return
            self.done += count
            self._report(count)

    def set_total_known(self) -> None:
        """The input ran out: the total is now what has been finished plus what is running."""

    def close(self) -> None:
        """Report the final state once."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._finish()

    def _report(self, count: int) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        pass


class CallbackProgress(Progress):
    """Calls ``callback(done, total)`` after each finished chunk."""

    def __init__(self, total: int | None, callback: Callable[[int, int | None], object]) -> None:
        super().__init__(total)
        self._callback = callback

    def _report(self, count: int) -> None:
        try:
            self._callback(self.done, self.total)
        except Exception:
            import traceback

            print("Exception in a pool progress callback (ignored):", file=sys.stderr)
            traceback.print_exc()


class PlainProgress(Progress):
    """A one-line counter on standard error, redrawn at most five times a second."""

    def __init__(self, total: int | None, desc: str, stream: Any = None) -> None:
        super().__init__(total)
        self._desc = desc
        self._stream = stream if stream is not None else sys.stderr
        self._last = 0.0
        self._started = time.monotonic()

    def _line(self) -> str:
        elapsed = time.monotonic() - self._started
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.total:
            return f"\r{self._desc}: {self.done}/{self.total} ({100 * self.done // self.total}%) {rate:.0f} items/s"
        return f"\r{self._desc}: {self.done} {rate:.0f} items/s"

    def _report(self, count: int) -> None:
        now = time.monotonic()
        if now - self._last >= _PLAIN_INTERVAL:
            self._last = now
            self._stream.write(self._line())
            self._stream.flush()

    def _finish(self) -> None:
        self._stream.write(self._line() + "\n")
        self._stream.flush()


class TqdmProgress(Progress):
    """A tqdm bar."""

    def __init__(self, total: int | None, desc: str, tqdm_class: Any) -> None:
        super().__init__(total)
        self._bar = tqdm_class(total=total, desc=desc)

    def _report(self, count: int) -> None:
        self._bar.update(count)

    def _finish(self) -> None:
        self._bar.close()


def make_progress(option: ProgressOption, total: int | None, desc: str) -> Progress | None:
    """Return the progress reporter that ``option`` asks for, or ``None`` for none.

    Raises:
        TypeError: ``option`` is neither a bool, ``None`` nor a callable.
    """
    if option is None or option is False:
        return None
    if option is True:
        try:
            from tqdm.auto import tqdm  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError:
            return PlainProgress(total, desc)
        return TqdmProgress(total, desc, tqdm)
    if callable(option):
        return CallbackProgress(total, option)
    raise TypeError(f"progress must be True, False, None or a callable(done, total), not {type(option).__name__}")
