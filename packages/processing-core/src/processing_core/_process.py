"""``Process``: a ``threading.Thread``-like object whose ``run()`` happens in another process.

How the child is started is a start method's business (``_popen_*`` modules); this
module holds what is the same for all of them: the object model, names, the
process tree of *this* process (``current_process``, ``parent_process``,
``active_children``) and the child's bootstrap around ``run()``.
"""

from __future__ import annotations

import itertools
import os
import sys
import threading

from processing_core import _util
from processing_core._process_legacy import LegacyProcessNames

# typing, collections.abc and signal (enum) stay out of a spawned child's start-up:
# it is measured.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping
    from typing import Any, Protocol
else:
    Protocol = object

__all__ = [
    "BaseProcess",
    "activeChildren",
    "active_children",
    "currentProcess",
    "current_process",
    "parent_process",
]


class Popen(Protocol):
    """What a start method's launcher offers for one started child."""

    pid: int
    returncode: int | None
    sentinel: int

    def poll(self, flag: int = ...) -> int | None: ...
    def wait(self, timeout: float | None = None) -> int | None: ...
    def terminate(self) -> None: ...
    def kill(self) -> None: ...
    def close(self) -> None: ...


def _signal_name(signum: int) -> str:
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return str(signum)


class BaseProcess(LegacyProcessNames):
    """A process object: its ``run()`` executes in a separate process once started.

    The API is the one of ``threading.Thread``: subclass it and override :meth:`run`,
    or pass a ``target``.  The concrete classes (``Process`` and those of each start
    method, from a context) only differ in how :meth:`start` makes the child.

    Args:
        group: always ``None``; kept for compatibility with ``threading.Thread``.
        target: the callable :meth:`run` invokes (``None`` for nothing).
        name: the process name; defaults to ``Process-N`` (``Process-N:M`` in a child).
        args: positional arguments for ``target``.
        kwargs: keyword arguments for ``target``.
        daemon: the daemon flag; ``None`` inherits the creating process's flag.
    """

    _start_method: str | None = None

    @staticmethod
    def _Popen(process_obj: BaseProcess) -> Popen:
        raise NotImplementedError

    def __init__(
        self,
        group: None = None,
        target: Callable[..., object] | None = None,
        name: str | None = None,
        args: Iterable[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        *,
        daemon: bool | None = None,
    ) -> None:
        if group is not None:
            raise ValueError("group argument must be None for now")
        creator = _current_process
        self._identity: tuple[int, ...] = (*creator._identity, next(_state.counter))
        self._config: dict[str, Any] = creator._config.copy()
        self._parent_pid = os.getpid()
        self._parent_name = creator.name
        self._popen: Popen | None = None
        self._closed = False
        self._target = target
        self._args = tuple(args)
        self._kwargs = dict(kwargs or {})
        self._name = name if name is not None else type(self)._default_name(self._identity)
        if daemon is not None:
            self.daemon = daemon

    @staticmethod
    def _default_name(identity: tuple[int, ...]) -> str:
        return "Process-" + ":".join(str(i) for i in identity)

    def _check_closed(self) -> None:
        if self._closed:
            raise ValueError("process object is closed")

    def run(self) -> None:
        """The child's activity: calls ``target(*args, **kwargs)``; override it in subclasses."""
        if self._target is not None:
            self._target(*self._args, **self._kwargs)

    def start(self) -> None:
        """Start the child process; call at most once per process object."""
        self._check_closed()
        if self._popen is not None:
            raise AssertionError("cannot start a process twice")
        if self._parent_pid != os.getpid():
            raise AssertionError("can only start a process object created by the current process")
        if _current_process._config.get("daemon"):
            raise AssertionError("daemonic processes are not allowed to have children")
        if _bootstrapping_main:
            raise RuntimeError(_MAIN_GUARD_MESSAGE)
        _cleanup()
        self._popen = self._Popen(self)
        self._sentinel = self._popen.sentinel
        # The child has its own copy: drop the references so targets can be collected.
        del self._target, self._args, self._kwargs
        _children.add(self)

    def terminate(self) -> None:
        """Send SIGTERM to the child (its ``finally`` clauses and exit handlers do not run)."""
        self._check_closed()
        if self._popen is not None:
            self._popen.terminate()

    def kill(self) -> None:
        """Send SIGKILL to the child."""
        self._check_closed()
        if self._popen is not None:
            self._popen.kill()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the child exits, or ``timeout`` seconds pass (``None``: no limit)."""
        self._check_closed()
        if self._parent_pid != os.getpid():
            raise AssertionError("can only join a child process")
        if self._popen is None:
            raise AssertionError("can only join a started process")
        if timeout is not None and timeout < 0:
            timeout = 0
        result = self._popen.wait(timeout)
        if result is not None:
            _children.discard(self)

    def is_alive(self) -> bool:
        """Return whether the child is running (the current process is always alive)."""
        self._check_closed()
        if self is _current_process:
            return True
        if self._parent_pid != os.getpid():
            raise AssertionError("can only test a child process")
        if self._popen is None:
            return False
        if self._popen.poll() is None:
            return True
        _children.discard(self)
        return False

    def close(self) -> None:
        """Release the resources of a finished process; most methods then raise ``ValueError``."""
        if self._popen is not None:
            if self._popen.poll() is None:
                raise ValueError(
                    "Cannot close a process while it is still running. You should first call join() or terminate()."
                )
            self._popen.close()
            self._popen = None
            del self._sentinel
            _children.discard(self)
        self._closed = True

    @property
    def name(self) -> str:
        """The process name (a ``str``; only used for identification)."""
        return self._name

    @name.setter
    def name(self, name: str) -> None:
        if not isinstance(name, str):
            raise TypeError(f"name must be a string, not {type(name).__name__}")
        self._name = name

    @property
    def daemon(self) -> bool:
        """Whether the child is daemonic: terminated, not joined, when its parent exits."""
        return bool(self._config.get("daemon", False))

    @daemon.setter
    def daemon(self, daemonic: bool) -> None:
        if self._popen is not None:
            raise AssertionError("process has already started")
        self._config["daemon"] = bool(daemonic)

    @property
    def authkey(self) -> bytes:
        """The authentication key (bytes), inherited from the creating process."""
        return bytes(self._config["authkey"])

    @authkey.setter
    def authkey(self, authkey: bytes) -> None:
        if not isinstance(authkey, (bytes, bytearray)):
            raise TypeError(f"authkey must be bytes, not {type(authkey).__name__}")
        self._config["authkey"] = AuthenticationString(authkey)

    @property
    def exitcode(self) -> int | None:
        """The exit code, ``None`` while running; ``-N`` if signal ``N`` ended the child."""
        self._check_closed()
        if self._popen is None:
            return None
        return self._popen.poll()

    @property
    def ident(self) -> int | None:
        """The process id (``None`` before start); the same as :attr:`pid`."""
        self._check_closed()
        if self is _current_process:
            return os.getpid()
        return self._popen.pid if self._popen is not None else None

    pid = ident

    @property
    def sentinel(self) -> int:
        """A file descriptor that becomes readable when the child exits (for ``select``/``wait``)."""
        self._check_closed()
        try:
            return self._sentinel
        except AttributeError:
            raise ValueError("process not started") from None

    def __repr__(self) -> str:
        exitcode = None
        if self is _current_process:
            status = "started"
        elif self._closed:
            status = "closed"
        elif self._parent_pid != os.getpid():
            status = "unknown"
        elif self._popen is None:
            status = "initial"
        else:
            exitcode = self._popen.poll()
            status = "started" if exitcode is None else "stopped"
        if exitcode:
            status += f"[{_signal_name(-exitcode) if exitcode < 0 else exitcode}]"
        daemon = " daemon" if self.daemon else ""
        return f"<{type(self).__name__}({self._name}, {status}{daemon})>"

    # ------------------------------------------------------------ in the child

    def _bootstrap(self, parent_sentinel: int | None = None) -> int:
        """Run in the new child: become the current process, call ``run()``, return the exit code."""
        global _current_process, _parent_process  # noqa: PLW0603
        try:
            _state.reset()
            _children.clear()
            _close_stdin()
            _parent_process = _ParentProcess(self._parent_name, self._parent_pid, parent_sentinel)
            _current_process = self
            _util._reset_in_child()
            _util._run_after_forkers()
            _util.info("child process calling self.run()")
            try:
                self.run()
                exitcode = 0
            finally:
                _util._exit_function()
        except SystemExit as exc:
            exitcode = _exit_code_of(exc)
        except BaseException:
            import traceback

            exitcode = 1
            sys.stderr.write(f"Process {self.name}:\n")
            traceback.print_exc()
        finally:
            threading._shutdown()  # type: ignore[attr-defined]
            _util.info("process exiting with exitcode %d", exitcode)
            _util._flush_std_streams()
        return exitcode


def _exit_code_of(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    sys.stderr.write(str(code) + "\n")
    return 1


def _close_stdin() -> None:
    if sys.stdin is None:
        return
    try:  # noqa: SIM105 - contextlib stays out of a spawned child's start-up
        sys.stdin.close()
    except (OSError, ValueError):
        pass
    try:
        fd = os.open(os.devnull, os.O_RDONLY)
        try:
            sys.stdin = open(fd, closefd=False)  # noqa: SIM115 - lives as long as the process
        except BaseException:
            os.close(fd)
            raise
    except (OSError, ValueError):
        pass


class AuthenticationString(bytes):
    """Bytes that refuse to be pickled except while a child is being started."""

    def __reduce__(self) -> tuple[type, tuple[bytes]]:
        from processing_core._reduction import get_spawning_popen

        if get_spawning_popen() is None:
            raise TypeError("pickling an AuthenticationString object is disallowed for security reasons")
        return AuthenticationString, (bytes(self),)


class _MainProcess(BaseProcess):
    """The process object of the main process (``MainProcess``)."""

    def __init__(self) -> None:
        self._identity = ()
        self._name = "MainProcess"
        self._parent_pid = None  # type: ignore[assignment]
        self._popen = None
        self._closed = False
        self._config = {"authkey": AuthenticationString(os.urandom(32)), "semprefix": "/pr"}

    def close(self) -> None:
        """The main process cannot be closed: this does nothing."""


class _ParentProcess(BaseProcess):
    """What ``parent_process()`` returns in a child: name, pid, and whether it is alive."""

    def __init__(self, name: str, pid: int, sentinel: int | None) -> None:
        self._identity = ()
        self._name = name
        self._pid = pid
        self._parent_pid = None  # type: ignore[assignment]
        self._popen = None
        self._closed = False
        self._config = {}
        self._parent_sentinel = sentinel

    def is_alive(self) -> bool:
        """Return whether the parent process is still running."""
        if self._parent_sentinel is None:
            return _pid_alive(self._pid)
        from select import select

        readable, _, _ = select([self._parent_sentinel], [], [], 0)
        return not readable

    @property
    def ident(self) -> int:
        """The parent's process id."""
        return self._pid

    pid = ident

    @property
    def sentinel(self) -> int:
        """A descriptor that becomes readable when the parent exits (``ValueError`` if unknown)."""
        if self._parent_sentinel is None:
            raise ValueError("the parent's sentinel is not available here")
        return self._parent_sentinel

    def join(self, timeout: float | None = None) -> None:
        """Wait for the parent to exit, or ``timeout`` seconds."""
        from select import select

        select([self.sentinel], [], [], timeout)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}({self._name}, {'started' if self.is_alive() else 'stopped'})>"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _TreeState:
    """This process's place in the tree: the counter that numbers its children."""

    def __init__(self) -> None:
        self.counter = itertools.count(1)

    def reset(self) -> None:
        self.counter = itertools.count(1)


_state = _TreeState()
_current_process: BaseProcess = _MainProcess()
_parent_process: BaseProcess | None = None
_children: set[BaseProcess] = set()
# Descriptors this process keeps for its children (sentinels, pipe ends): a forked
# child closes them, so a sibling's or grandchild's copy never delays an EOF.
_parent_side_fds: set[int] = set()
# True while a spawned child re-runs its parent's main module (see _spawn).
_bootstrapping_main = False
_MAIN_GUARD_MESSAGE = (
    "a new process was started while this child was still re-importing its parent's main module "
    "(its bootstrapping phase). This happens when the main module starts processes at top level. "
    "Protect the entry point of the program with the idiom:\n\n"
    "    if __name__ == '__main__':\n"
    "        freeze_support()  # only needed for frozen executables\n"
    "        ...start processes here...\n"
)
_own_child_fds: tuple[int, ...] = ()


def _enter_forked_child(own_fds: tuple[int, ...]) -> None:
    """In a just-forked child: drop the parent's descriptors meant for other children."""
    global _own_child_fds  # noqa: PLW0603
    for fd in (*_parent_side_fds, *_own_child_fds):
        try:  # noqa: SIM105 - contextlib stays out of a spawned child's start-up
            os.close(fd)
        except OSError:
            pass
    _parent_side_fds.clear()
    _own_child_fds = own_fds


def _cleanup() -> None:
    """Forget the children that have exited (their ``poll()`` reaps them)."""
    for child in list(_children):
        popen = child._popen
        if popen is not None and popen.poll() is not None:
            _children.discard(child)


def current_process() -> BaseProcess:
    """Return the process object of the calling process."""
    return _current_process


def parent_process() -> BaseProcess | None:
    """Return the process object of the parent, or ``None`` in the main process."""
    return _parent_process


def active_children() -> list[BaseProcess]:
    """Return the children of this process that are still running (reaping those that ended)."""
    _cleanup()
    return list(_children)


currentProcess = current_process
activeChildren = active_children
