"""The fork server: a clean helper process that forks the children of ``forkserver``.

Started lazily (by the native spawn launcher) the first time a ``forkserver`` child is
needed.  It re-creates the parent's ``__main__``, imports the preload modules, then
serves requests over a Unix socket pair: each request carries, with SCM_RIGHTS, a
*status socket* for that child and the descriptors the child needs.  The server forks,
writes the child's pid to its status socket and, once the child has exited, its exit
code; the parent's end of that socket is the child's sentinel.

The server ignores SIGINT (Ctrl-C reaches the children and the parent through the
process group, the parent decides) and exits as soon as its parent is gone: it
watches a pipe whose only writer is the parent, so even SIGKILL of the parent ends it.
"""

from __future__ import annotations

import contextlib
import os
import threading

from processing_core import _helpers, _process

TYPE_CHECKING = False  # typing stays out of start-up paths
if TYPE_CHECKING:
    from collections.abc import Iterable
    from typing import Any, BinaryIO

__all__ = ["connect", "serve", "set_preload", "stop_server"]

MAX_FDS_PER_REQUEST = 64
INT_BYTES = 8
# Reported when the server vanished before it could tell a child's exit code.
UNKNOWN_EXITCODE = 255

_lock = threading.Lock()
_preload: list[str] = ["__main__"]


class _ServerHandle:
    def __init__(self, pid: int, control: Any, alive_w: int) -> None:
        self.pid = pid
        self.control = control
        self.alive_w = alive_w


_server: _ServerHandle | None = None


def set_preload(module_names: Iterable[str]) -> None:
    """Set the modules the server imports at start (``"__main__"`` re-creates the main module)."""
    names = list(module_names)
    if not all(isinstance(name, str) for name in names):
        raise TypeError("module_names must be a list of strings")
    _preload[:] = names


def connect() -> Any:
    """Return the control socket of this process's fork server, starting it if needed."""
    global _server  # noqa: PLW0603
    with _lock:
        if _server is not None and not _server_alive(_server):
            _helpers.unregister_helper(_server.pid)
            _server = None
        if _server is None:
            _server = _start_server()
        return _server.control


def send_request(fds: list[int]) -> None:
    """Ask the server to fork a child: ``fds`` = status socket, data pipe, stdout, stderr, then extras."""
    import socket

    with _lock:
        assert _server is not None
        socket.send_fds(_server.control, [b"F"], fds)


def stop_server() -> None:
    """Stop this process's fork server, if any (a later ``forkserver`` child starts a new one).

    Children it forked keep running; only their exit codes can no longer be reported.
    """
    global _server
    with _lock:
        handle, _server = _server, None
    if handle is None:
        return
    for fd in (handle.control.fileno(), handle.alive_w):
        _process._parent_side_fds.discard(fd)
    handle.control.close()
    os.close(handle.alive_w)  # the server sees EOF and exits
    with contextlib.suppress(ChildProcessError):
        os.waitpid(handle.pid, 0)
    _helpers.unregister_helper(handle.pid)


def _server_alive(handle: _ServerHandle) -> bool:
    try:
        pid, _status = os.waitpid(handle.pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return pid == 0


def _start_server() -> _ServerHandle:
    import marshal
    import socket

    from processing_core import _context, _spawn
    from processing_core._native import ffi, lib

    parent_sock, server_sock = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    alive_r, alive_w = os.pipe()
    data_r, data_w = os.pipe()
    try:
        data = _spawn.preparation_data("ForkServer")
        data["preload"] = list(_preload)
        code = (
            f"import sys,marshal;f=open({data_r},'rb');d=marshal.load(f);sys.path[:]=d['sys_path'];"
            f"from processing_core._forkserver import serve;serve(f,d,{server_sock.fileno()},{alive_r})"
        )
        site = [] if os.environ.get(_spawn.SITE_ENV) or _spawn.needs_site() else ["-S"]
        argv = [_context.get_executable(), *_spawn._interpreter_flags(), *site, "-c", code]
        c_args = [ffi.new("char[]", os.fsencode(arg)) for arg in argv]
        c_argv = ffi.new("char *[]", [*c_args, ffi.NULL])
        keep = [data_r, server_sock.fileno(), alive_r]
        pid = lib.prc_spawn(c_args[0], c_argv, ffi.NULL, ffi.new("int[]", keep), len(keep))
        if pid < 0:
            raise OSError(-pid, f"cannot start the fork server: {os.strerror(-pid)}")
        with open(data_w, "wb", closefd=False) as pipe:
            pipe.write(marshal.dumps(data))
    except BaseException:
        parent_sock.close()
        os.close(alive_w)
        raise
    finally:
        os.close(data_w)
        os.close(data_r)
        os.close(alive_r)
        server_sock.close()
    _helpers.register_helper(pid)
    # A child forked from here must not keep the server alive, nor talk to it.
    _process._parent_side_fds.update((parent_sock.fileno(), alive_w))
    return _ServerHandle(pid, parent_sock, alive_w)


def _forget_server_in_child() -> None:
    global _server  # noqa: PLW0603
    if _server is not None:
        # (The helper registry keeps the parent's pid: its lock may be held across fork.)
        for fd in (_server.control.fileno(), _server.alive_w):
            _process._parent_side_fds.discard(fd)
        try:
            _server.control.close()
        finally:
            with contextlib.suppress(OSError):
                os.close(_server.alive_w)
        _server = None


os.register_at_fork(after_in_child=_forget_server_in_child)

# ------------------------------------------------------------------ server side


def serve(stream: BinaryIO, data: dict[str, Any], control_fd: int, alive_fd: int) -> None:
    """The fork server's main loop (runs in the helper process)."""
    import select
    import signal
    import socket

    from processing_core import _spawn

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with stream:
        preload = data.get("preload", [])
        # Preloading "__main__" re-creates it here, once; otherwise each child does on first use.
        data = {**data, "main_mode": "always" if "__main__" in preload else "when-needed"}
        _spawn._prepare(data)
        for name in preload:
            if name != "__main__":
                with contextlib.suppress(ImportError):
                    __import__(name)
    # Whatever every child needs is imported once here, not after each fork.
    import _pickle  # noqa: F401
    import marshal  # noqa: F401

    from processing_core import _reduction  # noqa: F401

    control = socket.socket(fileno=control_fd)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    children: dict[int, int] = {}  # pid -> status socket fd
    while True:
        try:
            readable, _, _ = select.select([control.fileno(), alive_fd, wake_r], [], [])
        except InterruptedError:
            continue
        if alive_fd in readable:
            os._exit(0)  # the parent is gone
        if wake_r in readable:
            os.read(wake_r, 4096)
            _reap(children)
        if control.fileno() in readable:
            message, fds, _flags, _addr = socket.recv_fds(control, 16, MAX_FDS_PER_REQUEST)
            if not message:
                os._exit(0)
            pid = os.fork()
            if pid == 0:
                signal.set_wakeup_fd(-1)
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.default_int_handler)
                for fd in (control_fd, alive_fd, wake_r, wake_w, *children.values()):
                    os.close(fd)
                _child_main(fds)
            status_fd = fds[0]
            _write_int(status_fd, pid)
            for fd in fds[1:]:
                os.close(fd)
            children[pid] = status_fd
            _reap(children)


def _reap(children: dict[int, int]) -> None:
    while children:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        status_fd = children.pop(pid, None)
        if status_fd is not None:
            with contextlib.suppress(OSError):  # the parent may have dropped the process object
                _write_int(status_fd, os.waitstatus_to_exitcode(status))
            os.close(status_fd)


def _write_int(fd: int, value: int) -> None:
    os.write(fd, value.to_bytes(INT_BYTES, "little", signed=True))


def _child_main(fds: list[int]) -> None:
    """In a child just forked by the server: read the process object and run it."""
    import marshal

    from processing_core import _reduction, _spawn

    exitcode = 1
    try:
        os.close(fds[0])
        data_fd = fds[1]
        for target, fd in ((1, fds[2]), (2, fds[3])):
            os.dup2(fd, target)
            os.close(fd)
        _reduction.set_inherited_fds(fds[4:])
        _process._own_child_fds = (data_fd,)
        with open(data_fd, "rb", closefd=False) as stream:
            data = marshal.load(stream)
            _spawn._apply_runtime_state(data)
            if not _spawn._main_recreated:
                _spawn.prepare_main(data)
            process_obj = _spawn.load_process(stream, data)
        exitcode = process_obj._bootstrap(parent_sentinel=data_fd)
    except SystemExit as exc:
        exitcode = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        traceback.print_exc()
    finally:
        _spawn._flush()
        os._exit(exitcode)
