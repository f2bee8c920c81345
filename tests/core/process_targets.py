"""Module-level targets for the process tests (spawned children import them by name)."""

from __future__ import annotations

import os
import sys
import time


def noop() -> None:
    pass


def exit_with(code: object) -> None:
    sys.exit(code)


def raise_error() -> None:
    raise ValueError("boom in the child")


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def segfault() -> None:
    import ctypes

    ctypes.string_at(0)


def write_info(path: str) -> None:
    """Write facts about this child to ``path`` (names, pids, authkey) for the parent to check."""
    import processing_core

    me = processing_core.current_process()
    parent = processing_core.parent_process()
    info = {
        "name": me.name,
        "pid": os.getpid(),
        "ident": me.ident,
        "parent_name": parent.name if parent else None,
        "parent_pid": parent.pid if parent else None,
        "parent_alive": parent.is_alive() if parent else None,
        "authkey": me.authkey.hex(),
        "daemon": me.daemon,
    }
    with open(path, "w") as out:
        out.write(repr(info))


def start_grandchild(path: str, method: str) -> None:
    """Start a grandchild that writes its info to ``path``; join it."""
    import processing_core

    child = processing_core.get_context(method).Process(target=write_info, args=(path,))
    child.start()
    child.join()
    if child.exitcode != 0:
        sys.exit(7)


def try_start_child(path: str) -> None:
    """In a daemonic child: starting a child must fail; record the error."""
    import processing_core

    try:
        processing_core.Process(target=noop).start()
    except AssertionError as exc:
        with open(path, "w") as out:
            out.write(str(exc))


def echo_args(path: str, *args: object, **kwargs: object) -> None:
    with open(path, "w") as out:
        out.write(repr((args, kwargs)))


def list_fds(path: str) -> None:
    """Write {fd: what it points to} for this process's open descriptors."""
    fds = {}
    for fd in os.listdir("/proc/self/fd"):
        try:
            fds[int(fd)] = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            pass  # listdir's own descriptor, closed by now
    with open(path, "w") as out:
        out.write(repr(fds))


def _make_writer(base: type) -> type:
    class Writer(base):  # type: ignore[misc, valid-type]
        """A subclass that overrides run(), the threading.Thread way."""

        def __init__(self, path: str) -> None:
            super().__init__()
            self.path = path

        def run(self) -> None:
            with open(self.path, "w") as out:
                out.write("ran")

    return Writer


def _writers() -> dict[str, type]:
    import processing_core

    found = {}
    for method in ("fork", "spawn", "forkserver"):
        cls = _make_writer(processing_core.get_context(method).Process)
        cls.__name__ = cls.__qualname__ = f"{method.capitalize()}Writer"
        found[method] = cls
    return found


WRITERS = _writers()
ForkWriter, SpawnWriter, ForkserverWriter = WRITERS["fork"], WRITERS["spawn"], WRITERS["forkserver"]


def log_warning() -> None:
    import processing_core

    processing_core.get_logger().warning("hello from the child")
