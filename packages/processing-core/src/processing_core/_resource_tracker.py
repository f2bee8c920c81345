"""The resource tracker: unlinks named shared memory that its users left behind.

Unnamed objects (semaphores and the shared heap live in memfd arenas) need no
tracking: the kernel frees them with their last user.  Named POSIX shared memory
outlives its creator unless somebody unlinks it, so every process family that
creates a tracked :class:`~processing_core.SharedMemory` gets one tracker process.

How it knows the users are gone: each process of the family holds a connection
(a ``SOCK_SEQPACKET`` Unix socket) to the tracker: the first one is handed over
when the tracker is started, fork children inherit it, and other processes (spawn,
forkserver, or unrelated ones started from the family) connect to the abstract
address found in the ``PROCESSING_RESOURCE_TRACKER`` environment variable.  The
kernel closes a connection when the last process holding it dies, however it dies
(``SIGKILL`` included).  When every connection is closed, the tracker unlinks each
name still registered, and exits.

The tracker runs in a session of its own, so signals sent to the family's process
group (Ctrl-C, ``kill -9 -PGID``) do not stop it before it has cleaned up.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import selectors
import socket
import sys
import threading

from processing_core._helpers import register_helper

__all__ = ["ENV_VAR", "ensure_running", "join_family_tracker", "register", "unregister"]

ENV_VAR = "PROCESSING_RESOURCE_TRACKER"
_MAX_MESSAGE = 4096
_FIRST_CONN_FD = 3
_LISTENER_FD = 4


class _Client:
    """This process's connection to its family's tracker (started on first use)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sock: socket.socket | None = None
        self.pid: int | None = None
        # Names this process registered and has not unregistered: handed to a new
        # tracker if the one we used was killed.
        self.names: set[str] = set()

    def after_fork_in_child(self) -> None:
        # The inherited connection stays: it keeps the tracker waiting for us too.
        self.lock = threading.Lock()
        self.names = set()

    def connect(self, *, start: bool) -> bool:
        """Connect to the family's tracker (starting one if ``start``); return whether connected."""
        with self.lock:
            if self.sock is not None:
                return True
            address = os.environ.get(ENV_VAR)
            if address:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
                try:
                    sock.connect(b"\0" + bytes.fromhex(address))
                except (OSError, ValueError):
                    sock.close()  # that tracker is gone (its family ended): start our own
                else:
                    self.sock = sock
                    return True
            if not start:
                return False
            self.sock, self.pid = _start_tracker()
            return True

    def send(self, verb: bytes, name: str, *, start: bool = True) -> None:
        message = verb + name.encode("utf-8", "surrogateescape")
        if len(message) > _MAX_MESSAGE:
            raise ValueError(f"shared memory name too long to track: {name!r}")
        if verb == b"R":
            self.names.add(name)
        else:
            self.names.discard(name)
        if not self.connect(start=start):
            return
        assert self.sock is not None
        try:
            self.sock.send(message)
        except OSError:
            # The tracker was killed: forget it, and have a new one (started on the
            # next connect) track every name this process still owns.
            self._forget_dead_tracker()
            if self.connect(start=start):
                assert self.sock is not None
                for owned in sorted(self.names):
                    self.sock.send(b"R" + owned.encode("utf-8", "surrogateescape"))

    def _forget_dead_tracker(self) -> None:
        with self.lock:
            if self.sock is not None:
                self.sock.close()
            self.sock, self.pid = None, None


def _watched() -> list[str]:
    """A child that starts a tracker (its parent had none when it started it) has the
    tracker wait for the parent too: the parent may still attach to what the child made."""
    from processing_core import _process

    parent = _process.parent_process()
    return [str(parent.pid)] if parent is not None and parent.pid else []


def _start_tracker() -> tuple[socket.socket, int]:
    address = f"processing-rt-{os.getpid()}-{secrets.token_hex(8)}".encode()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    staged: list[int] = []
    try:
        listener.bind(b"\0" + address)
        listener.listen(64)
        # Copies above the target numbers first: dup2(theirs, 3) must not overwrite
        # the listener when the listener itself happens to be descriptor 3.
        staged = [fcntl.fcntl(sock.fileno(), fcntl.F_DUPFD_CLOEXEC, 10) for sock in (theirs, listener)]
        pid = os.posix_spawn(
            sys.executable,
            # -c, not -m: the package imports this module, and runpy warns about that.
            [sys.executable, "-c", "from processing_core._resource_tracker import _main; _main()", *_watched()],
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_DUP2, staged[0], _FIRST_CONN_FD),
                (os.POSIX_SPAWN_DUP2, staged[1], _LISTENER_FD),
            ],
            setsid=True,
        )
    except BaseException:
        ours.close()
        raise
    finally:
        for fd in staged:
            os.close(fd)
        theirs.close()
        listener.close()
    register_helper(pid)
    os.environ[ENV_VAR] = address.hex()
    return ours, pid


_client = _Client()
os.register_at_fork(after_in_child=_client.after_fork_in_child)


def ensure_running() -> None:
    """Make sure this process is connected to its family's tracker, starting one if needed."""
    _client.connect(start=True)


def join_family_tracker() -> None:
    """Connect to the family's tracker if there is one, so that it waits for this process too."""
    _client.connect(start=False)


def register(name: str) -> None:
    """Have the tracker unlink the shared memory ``name`` if the family ends first."""
    _client.send(b"R", name)


def unregister(name: str) -> None:
    """The shared memory ``name`` was unlinked: stop tracking it (starts no tracker)."""
    _client.send(b"U", name, start=False)


def tracker_pid() -> int | None:
    """Pid of the tracker this process started, if it started one."""
    return _client.pid


# -- the tracker process ---------------------------------------------------------------


def _accept_pending(listener: socket.socket, selector: selectors.BaseSelector) -> int:
    accepted = 0
    listener.setblocking(False)
    try:
        while True:
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return accepted
            except OSError:
                return accepted
            conn.setblocking(True)
            selector.register(conn, selectors.EVENT_READ, "connection")
            accepted += 1
    finally:
        listener.setblocking(True)


def _watch_processes(pids: list[int], selector: selectors.BaseSelector) -> int:
    """Also wait for these processes to end (via pidfds); return how many are watched."""
    watched = 0
    for pid in pids:
        try:
            pidfd = os.pidfd_open(pid)
        except (AttributeError, OSError):  # gone already, or no pidfds (Linux < 5.3)
            continue
        selector.register(pidfd, selectors.EVENT_READ, "process")
        watched += 1
    return watched


def _serve(first: socket.socket, listener: socket.socket, watched_pids: list[int]) -> set[str]:
    """Track registrations until every connection is closed; return what is left."""
    names: set[str] = set()
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, "listener")
    selector.register(first, selectors.EVENT_READ, "connection")
    users = 1 + _watch_processes(watched_pids, selector)
    while users:
        for key, _ in selector.select():
            if key.data == "listener":
                with contextlib.suppress(OSError):
                    conn, _ = listener.accept()
                    selector.register(conn, selectors.EVENT_READ, "connection")
                    users += 1
                continue
            if key.data == "process":  # a watched process ended
                selector.unregister(key.fileobj)
                os.close(key.fd)
                message = b""
            else:
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                try:
                    message = sock.recv(_MAX_MESSAGE)
                except OSError:
                    message = b""
                if not message:
                    selector.unregister(sock)
                    sock.close()
            if not message:
                users -= 1
                if users == 0:
                    # A process may have connected (and sent) just before the last one
                    # left: take in the connections still waiting in the backlog.
                    users += _accept_pending(listener, selector)
                continue
            name = message[1:].decode("utf-8", "surrogateescape")
            if message[:1] == b"R":
                names.add(name)
            elif message[:1] == b"U":
                names.discard(name)
    return names


def _main() -> None:
    import signal

    # Ctrl-C and terminal hang-ups are for the family, not for its janitor.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    first = socket.socket(fileno=_FIRST_CONN_FD)
    listener = socket.socket(fileno=_LISTENER_FD)
    leftovers = _serve(first, listener, [int(pid) for pid in sys.argv[1:]])
    listener.close()
    if not leftovers:
        return
    from processing_core._native import lib

    for name in sorted(leftovers):
        rc = lib.prc_shm_unlink(name.encode("utf-8", "surrogateescape"))
        if rc == 0:
            print(
                f"processing resource tracker: unlinked shared memory {name!r} left behind by its users",
                file=sys.stderr,
            )


if __name__ == "__main__":
    _main()
