"""The ``spawn`` start method: a fresh interpreter started by the native launcher.

The child gets only two descriptors besides 0, 1 and 2 (plus those that pickled
arguments hand over with ``duplicate_for_child``): the read end of the pipe it is fed
through, whose EOF later tells it that the parent died, and the write end of the pipe
whose EOF is the parent's sentinel.
"""

from __future__ import annotations

import os
import sys

from processing_core import _process, _util
from processing_core._popen_fork import ForkPopen, _close_fds

TYPE_CHECKING = False  # typing stays out of a spawned child's start-up

if TYPE_CHECKING:
    from processing_core._process import BaseProcess

__all__ = ["SpawnPopen", "pickle_for_child"]


def pickle_for_child(process_obj: BaseProcess, launcher: object, method: str) -> bytes:
    """Pickle ``process_obj`` for a child; name the culprit if something cannot be pickled."""
    from processing_core import _reduction

    if "socket" in sys.modules:
        # Sockets pickle through the reducer that _fdpass registers; the package imports
        # it only on first use, and a socket cannot exist before its module is imported.
        from processing_core import _fdpass  # noqa: F401

    try:
        with _reduction.spawning_popen(launcher):  # type: ignore[arg-type]
            return bytes(_reduction.ForkingPickler.dumps(process_obj))
    except Exception as exc:
        culprit = _find_unpicklable(process_obj)
        message = (
            f"cannot start {process_obj.name!r} with the {method!r} start method: the process object is "
            f"pickled for the child, and {culprit or 'it'} cannot be pickled ({type(exc).__name__}: {exc}). "
            "Use module-level functions and picklable arguments, or the 'fork' start method."
        )
        try:
            error = type(exc)(message)
        except Exception:
            raise exc from None
        raise error from exc


class _ProbeLauncher:
    """Stands in for the real launcher while probing, so that probes hand over no descriptor."""

    def duplicate_for_child(self, fd: int) -> int:
        return fd


def _find_unpicklable(process_obj: BaseProcess) -> str | None:
    """Name the first part of ``process_obj`` that does not pickle: ``args[1] (a lock)``..."""
    from processing_core import _reduction

    parts: list[tuple[str, object]] = []
    for attribute, value in vars(process_obj).items():
        if attribute == "_args":
            parts.extend((f"args[{index}]", item) for index, item in enumerate(value))
        elif attribute == "_kwargs":
            parts.extend((f"kwargs[{key!r}]", item) for key, item in value.items())
        else:
            parts.append(("the target" if attribute == "_target" else f"attribute {attribute!r}", value))
    with _reduction.spawning_popen(_ProbeLauncher()):
        for label, value in parts:
            try:
                _reduction.ForkingPickler.dumps(value)
            except Exception:
                return f"{label} ({type(value).__module__}.{type(value).__qualname__} object)"
    return None


class SpawnPopen(ForkPopen):
    """Launcher of a spawned child (a new interpreter); waits and signals like fork's."""

    method = "spawn"

    def __init__(self, process_obj: BaseProcess) -> None:
        self._fds_for_child: list[int] = []
        super().__init__(process_obj)

    def duplicate_for_child(self, fd: int) -> int:
        """Keep ``fd`` open at the same number in the child; that number is the token."""
        self._fds_for_child.append(fd)
        return fd

    def _launch(self, process_obj: BaseProcess) -> None:
        from processing_core import _context, _spawn
        from processing_core._native import ffi, lib

        payload = pickle_for_child(process_obj, self, self.method)
        data = _spawn.preparation_data(process_obj.name)
        parent_r = child_w = child_r = parent_w = -1
        try:
            parent_r, child_w = os.pipe()
            child_r, parent_w = os.pipe()
            argv = _spawn.command_line(_context.get_executable(), child_r, child_w)
            keep = [child_r, child_w, *self._fds_for_child]
            c_args = [ffi.new("char[]", os.fsencode(arg)) for arg in argv]
            c_argv = ffi.new("char *[]", [*c_args, ffi.NULL])
            c_keep = ffi.new("int[]", keep)
            pid = lib.prc_spawn(c_args[0], c_argv, ffi.NULL, c_keep, len(keep))
            if pid < 0:
                raise OSError(-pid, f"cannot spawn {argv[0]!r}: {os.strerror(-pid)}")
            self.pid = pid
            self.sentinel = parent_r
            _process._parent_side_fds.update((parent_r, parent_w))
            self._finalizer = _util.Finalize(self, _close_fds, (parent_r, parent_w))
            write_fd, parent_r, parent_w = parent_w, -1, -1  # owned by the finalizer now
            _write_all(write_fd, data, payload)
        finally:
            for fd in (child_r, child_w, parent_r, parent_w):
                if fd >= 0:
                    os.close(fd)


def _write_all(fd: int, data: dict[str, object], payload: bytes) -> None:
    import marshal

    try:
        with open(fd, "wb", closefd=False) as pipe:
            pipe.write(marshal.dumps(data))
            pipe.write(payload)
    except BrokenPipeError:
        pass  # the child died before reading: its exit code tells the story
