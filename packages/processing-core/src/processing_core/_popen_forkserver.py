"""The ``forkserver`` start method: children are forked by the fork server.

Each child gets a status socket pair: the server keeps one end and writes the child's
pid, then its exit code, to it; our end is the sentinel, readable once the code is in.
"""

from __future__ import annotations

import os

from processing_core import _process, _util
from processing_core._popen_fork import ForkPopen, _close_fds, wait_readable
from processing_core._popen_spawn import _write_all, pickle_for_child

TYPE_CHECKING = False  # typing stays out of start-up paths
if TYPE_CHECKING:
    from processing_core._process import BaseProcess

__all__ = ["ForkServerPopen"]

INT_BYTES = 8
UNKNOWN_EXITCODE = 255


def _close(sock: object, *fds: int, _registry: set[int] = _process._parent_side_fds) -> None:
    # The socket's number is registered too: left there, a later descriptor reusing the
    # number would be closed in every child forked afterwards.
    _registry.discard(sock.fileno())  # type: ignore[attr-defined]
    _close_fds(*fds)
    sock.close()  # type: ignore[attr-defined]


class ForkServerPopen(ForkPopen):
    """Launcher of a child forked by the fork server; its exit code arrives over a socket."""

    method = "forkserver"

    def __init__(self, process_obj: BaseProcess) -> None:
        self._fds_for_child: list[int] = []
        super().__init__(process_obj)

    def duplicate_for_child(self, fd: int) -> int:
        """Pass ``fd`` along with the request; the token is its index among the passed ones."""
        self._fds_for_child.append(fd)
        return len(self._fds_for_child) - 1

    def _launch(self, process_obj: BaseProcess) -> None:
        import socket

        from processing_core import _forkserver, _spawn

        payload = pickle_for_child(process_obj, self, self.method)
        data = _spawn.preparation_data(process_obj.name)
        _forkserver.connect()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        child_r, parent_w = os.pipe()
        try:
            # The child writes to our current stdout/stderr, not to the server's.
            _forkserver.send_request([theirs.fileno(), child_r, 1, 2, *self._fds_for_child])
        except BaseException:
            ours.close()
            os.close(parent_w)
            raise
        finally:
            theirs.close()
            os.close(child_r)
        self._status = ours
        self.sentinel = ours.fileno()
        _process._parent_side_fds.update((self.sentinel, parent_w))
        self._finalizer = _util.Finalize(self, _close, (ours, parent_w))
        pid = self._read_int()
        if pid is None:
            raise OSError("the fork server failed to start the child")
        self.pid = pid
        _write_all(parent_w, data, payload)

    def _read_int(self) -> int | None:
        buffer = b""
        while len(buffer) < INT_BYTES:
            chunk = self._status.recv(INT_BYTES - len(buffer))
            if not chunk:
                return None
            buffer += chunk
        return int.from_bytes(buffer, "little", signed=True)

    def poll(self, flag: int = os.WNOHANG) -> int | None:
        """Return the exit code once the server has reported it, else ``None``."""
        if self.returncode is None:
            if flag == os.WNOHANG and not wait_readable(self.sentinel, 0):
                return None
            code = self._read_int()
            self.returncode = UNKNOWN_EXITCODE if code is None else code
        return self.returncode

    def _send_signal(self, sig: int) -> None:
        # The server reaps its children at once, so their pids can be reused: signal only a
        # child whose exit the server has not reported.
        if self.poll() is None:
            super()._send_signal(sig)

    def wait(self, timeout: float | None = None) -> int | None:
        """Wait up to ``timeout`` seconds (``None``: no limit) for the exit code."""
        if self.returncode is None and not wait_readable(self.sentinel, timeout):
            return None
        return self.poll(0)
