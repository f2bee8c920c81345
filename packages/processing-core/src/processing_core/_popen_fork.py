"""The ``fork`` start method: the child is an ``os.fork()`` copy of the parent.

Also the base of the other launchers: waiting, polling and signalling a child by pid
are the same for every start method whose children are ours to ``waitpid``.
"""

from __future__ import annotations

import contextlib
import os

from processing_core import _process, _util

TYPE_CHECKING = False  # typing stays out of a spawned child's start-up

if TYPE_CHECKING:
    from collections.abc import Callable

    from processing_core._process import BaseProcess

__all__ = ["ForkPopen", "wait_readable"]

# POSIX numbers; the signal module would pull enum into every child's start-up.
_SIGTERM = 15
_SIGKILL = 9


def wait_readable(fd: int, timeout: float | None) -> bool:
    """Block (without spinning) until ``fd`` is readable or ``timeout`` passes; return readiness."""
    import select

    poller = select.poll()
    poller.register(fd, select.POLLIN)
    deadline = None if timeout is None else _util_monotonic() + timeout
    while True:
        remaining_ms = None if deadline is None else max(0, int((deadline - _util_monotonic()) * 1000 + 0.999))
        if poller.poll(remaining_ms):
            return True
        if deadline is not None and _util_monotonic() >= deadline:
            return False


def _util_monotonic() -> float:
    import time

    return time.monotonic()


def _close_fds(
    *fds: int,
    _registry: set[int] = _process._parent_side_fds,
    _close: Callable[[int], None] = os.close,
) -> None:
    # Bound as defaults: this may run from a finalizer while the interpreter tears modules down.
    for fd in fds:
        _registry.discard(fd)
        try:  # noqa: SIM105 - contextlib may already be gone at teardown
            _close(fd)
        except OSError:
            pass


class ForkPopen:
    """Launcher of a forked child: holds its pid, sentinel and exit status."""

    method = "fork"

    def __init__(self, process_obj: BaseProcess) -> None:
        _util._flush_std_streams()
        self.returncode: int | None = None
        self.pid = 0
        self.sentinel = -1
        self._finalizer: _util.Finalize | None = None
        self._launch(process_obj)

    def duplicate_for_child(self, fd: int) -> int:
        """A forked child inherits every descriptor: the token is the number itself."""
        return fd

    def _launch(self, process_obj: BaseProcess) -> None:
        # parent_r/child_w: the child's death makes parent_r readable (the sentinel);
        # child_r/parent_w: the parent's death makes child_r readable (parent_process()).
        parent_r, child_w = os.pipe()
        child_r, parent_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.close(parent_r)
                os.close(parent_w)  # else the child would keep its own parent "alive"
                _process._enter_forked_child(own_fds=(child_w, child_r))
                code = process_obj._bootstrap(parent_sentinel=child_r)
            finally:
                os._exit(code)
        self.pid = pid
        os.close(child_w)
        os.close(child_r)
        self.sentinel = parent_r
        _process._parent_side_fds.update((parent_r, parent_w))
        self._finalizer = _util.Finalize(self, _close_fds, (parent_r, parent_w))

    def poll(self, flag: int = os.WNOHANG) -> int | None:
        """Return the exit code if the child has exited (reaping it), else ``None``."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, flag)
                if pid == 0 and flag == os.WNOHANG and wait_readable(self.sentinel, 0):
                    pid, status = self._wait_for_exiting_child()
            except ChildProcessError:
                # Someone else reaped it: it is gone, but its status is lost.
                return None
            if pid == self.pid:
                self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def _wait_for_exiting_child(self) -> tuple[int, int]:
        """The sentinel says the child closed its descriptors, so it is exiting: let it finish.

        The kernel closes a dying process's descriptors a moment before the process can be
        reaped; without this, ``exitcode`` right after the sentinel fired could still be
        ``None``.  Bounded (about 60 ms), in case the child merely exec'd another program.
        """
        import time

        delay = 0.0002
        pid, status = 0, 0
        while pid == 0 and delay < 0.05:
            time.sleep(delay)
            delay *= 2
            pid, status = os.waitpid(self.pid, os.WNOHANG)
        return pid, status

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` seconds (``None``: no limit) for the exit code."""
        if self.returncode is None:
            if timeout is not None and not wait_readable(self.sentinel, timeout):
                return None
            return self.poll(os.WNOHANG if timeout == 0 else 0)
        return self.returncode

    def _send_signal(self, sig: int) -> None:
        if self.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def terminate(self) -> None:
        """Send SIGTERM to the child."""
        self._send_signal(_SIGTERM)

    def kill(self) -> None:
        """Send SIGKILL to the child."""
        self._send_signal(_SIGKILL)

    def close(self) -> None:
        """Close the descriptors kept for the child."""
        if self._finalizer is not None:
            self._finalizer()
