"""The child side of spawn: a fresh interpreter rebuilds what its parent had, then runs.

The parent starts ``python -S -c <BOOTSTRAP>`` with a pipe, and writes two messages to
it: a ``marshal``-encoded dict (the *preparation data*: ``sys.path``, ``sys.argv``, how to
re-create ``__main__``, the start method, logging) and then the pickled process object.
Running without ``site`` and taking the parent's ``sys.path`` instead is what keeps the
child's start-up short.  Children do run ``site`` when the parent has import hooks that
``.pth`` files may have installed (:func:`needs_site`), or when :data:`SITE_ENV` is set,
for programs that need other side effects of ``.pth`` files.

Re-creating ``__main__``: the parent's main script (or ``-m`` module) runs again in the
child under the name ``__mp_main__`` and is also registered as ``__main__``, so that
pickled references to ``__main__.f`` resolve, while code under
``if __name__ == "__main__":`` does not run again.  By default that happens at start-up,
as with ``multiprocessing``; ``set_main_mode("when-needed")`` defers it to first use (a
placeholder module stands in until a name is looked up in it), so a child whose work
comes from other modules skips the main module's imports.  Starting a process while it
happens is refused with an error that explains the guard.
"""

from __future__ import annotations

import os
import sys

# typing is not imported at run time: a spawned child's start-up is measured.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, BinaryIO

__all__ = ["BOOTSTRAP", "SITE_ENV", "command_line", "preparation_data", "spawn_child"]

SITE_ENV = "PROCESSING_SPAWN_SITE"
SPAWN_FLAG = "--processing-spawn"
MAIN_NAME = "__mp_main__"

# Runs in the child before anything of ours is importable (marshal is built in).  The
# package __init__ imports its names on first use, so importing _spawn stays cheap.
BOOTSTRAP = """\
import sys, marshal
f = open({fd}, 'rb', closefd=False); d = marshal.load(f); sys.path[:] = d['sys_path']
from processing_core._spawn import spawn_child
spawn_child(f, d, {fd}, {exit_fd})
"""


MAIN_MODES = ("when-needed", "always")
# "always" by default: children see the main module's top-level side effects, as with
# multiprocessing; "when-needed" is the opt-in that skips it for faster start-up.
_main_mode = "always"
_main_recreated = False


def set_main_mode(mode: str) -> None:
    """Choose when a spawned child re-runs the parent's main module; see ``set_spawn_main_mode``."""
    global _main_mode  # noqa: PLW0603 - a process-wide setting, like the start method
    if mode not in MAIN_MODES:
        raise ValueError(f"main mode must be one of {', '.join(map(repr, MAIN_MODES))}, not {mode!r}")
    _main_mode = mode


def _interpreter_flags() -> list[str]:
    """The command-line options that reproduce this interpreter's flags (-O, -B, -X, -W...)."""
    import subprocess

    flags: list[str] = subprocess._args_from_interpreter_flags()  # type: ignore[attr-defined]
    return [flag for flag in flags if flag != "-S"]


def command_line(executable: str, data_fd: int, exit_fd: int) -> list[str]:
    """The argv of a spawned child that reads its start-up data from ``data_fd``.

    ``exit_fd`` is the write end of the pipe whose EOF tells the parent that the child exited.
    """
    if getattr(sys, "frozen", False):
        return [executable, SPAWN_FLAG, str(data_fd), str(exit_fd)]
    site = [] if os.environ.get(SITE_ENV) or needs_site() else ["-S"]
    return [
        executable,
        *_interpreter_flags(),
        *site,
        "-c",
        BOOTSTRAP.format(fd=data_fd, exit_fd=exit_fd),
    ]


# Import hooks that a child may lack without ``site`` and still import what the parent can.
_KNOWN_META_PATH = frozenset(
    {
        "_frozen_importlib.BuiltinImporter",
        "_frozen_importlib.FrozenImporter",
        "_frozen_importlib_external.PathFinder",
        "_distutils_hack.DistutilsMetaFinder",  # setuptools' distutils shim: only for distutils
    }
)


def needs_site() -> bool:
    """Whether a child must run ``site`` to import what this process can.

    Some ``.pth`` files install import hooks (setuptools' editable installs do); a child
    started with ``-S`` would lack them.  When ``sys.meta_path`` holds a finder we do not
    know, or ``sys.path_hooks`` more than the standard two, children run ``site``.
    """
    for finder in sys.meta_path:
        kind = finder if isinstance(finder, type) else type(finder)
        if f"{kind.__module__}.{kind.__qualname__}" not in _KNOWN_META_PATH:
            return True
    return len(sys.path_hooks) > 2


def is_spawn_command_line(argv: list[str]) -> bool:
    """Whether ``argv`` is the command line of a frozen executable started as a child."""
    return len(argv) >= 4 and argv[1] == SPAWN_FLAG


def main_from_command_line(argv: list[str]) -> None:
    """Run the child described by a frozen executable's ``argv`` (see ``freeze_support``)."""
    import marshal

    data_fd, exit_fd = int(argv[2]), int(argv[3])
    stream = open(data_fd, "rb", closefd=False)  # noqa: SIM115 - handed to spawn_child, which closes it
    spawn_child(stream, marshal.load(stream), data_fd, exit_fd)


def preparation_data(name: str) -> dict[str, Any]:
    """What a child needs to rebuild this process's state (marshal-able values only)."""
    from processing_core import _context, _process, _util

    main = sys.modules.get("__main__")
    main_module: str | None = None
    main_path: str | None = None
    spec = getattr(main, "__spec__", None)
    if spec is not None and spec.name not in ("__main__", "builtins"):
        main_module = spec.name
    else:
        path = getattr(main, "__file__", None)
        if path is not None and not _is_interactive_or_embedded(path):
            main_path = os.path.abspath(path)
    level, to_stderr = _util._logging_state()
    customizations = [mod for mod in ("sitecustomize", "usercustomize") if mod in sys.modules]
    return {
        "name": name,
        # marshal takes only plain values: a pathlib.Path on sys.path becomes its string.
        "sys_path": [os.fspath(entry) for entry in sys.path if isinstance(entry, (str, bytes, os.PathLike))],
        "sys_argv": [os.fspath(arg) if isinstance(arg, os.PathLike) else str(arg) for arg in sys.argv],
        "cwd": os.getcwd(),
        "main_module": main_module,
        "main_path": main_path,
        "start_method": _context._default_context.get_start_method(allow_none=True),
        "log_level": level,
        "log_to_stderr": to_stderr,
        "site_modules": customizations,
        "main_mode": _main_mode,
        "authkey": bytes(_process.current_process().authkey),
    }


def _is_interactive_or_embedded(path: str) -> bool:
    return path.startswith("<") or not os.path.exists(path)


def spawn_child(stream: BinaryIO, data: dict[str, Any], data_fd: int, exit_fd: int) -> None:
    """Child entry point: apply ``data``, unpickle the process object, run it, exit.

    Once read, the data pipe stays open: its EOF later means that the parent died
    (``parent_process().is_alive()``).  ``exit_fd`` is only held, until this process exits.
    """
    from processing_core import _process

    exitcode = 1
    try:
        # The launcher cleared close-on-exec on both; nothing started from here inherits them.
        os.set_inheritable(data_fd, False)
        os.set_inheritable(exit_fd, False)
        _process._own_child_fds = (data_fd, exit_fd)
        with stream:
            _prepare(data)
            process_obj = load_process(stream, data)
        exitcode = process_obj._bootstrap(parent_sentinel=data_fd)
    except SystemExit as exc:
        exitcode = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        import traceback

        sys.stderr.write(f"processing: spawned child {data.get('name')!r} failed before run():\n")
        traceback.print_exc()
    finally:
        _flush()
    os._exit(exitcode)


def _flush() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass


def _prepare(data: dict[str, Any]) -> None:
    """Rebuild the parent's state in this fresh interpreter."""
    import builtins

    if not hasattr(builtins, "exit"):
        # What ``site`` would have added (we ran with -S): exit(), quit(), help().
        import _sitebuiltins

        builtins.exit = _sitebuiltins.Quitter("exit", "Ctrl-D (i.e. EOF)")
        builtins.quit = _sitebuiltins.Quitter("quit", "Ctrl-D (i.e. EOF)")
        builtins.help = _sitebuiltins._Helper()
    for module in data.get("site_modules", ()):
        try:  # noqa: SIM105 - contextlib stays out of a spawned child's start-up
            __import__(module)
        except ImportError:
            pass
    _apply_runtime_state(data)
    prepare_main(data)


def prepare_main(data: dict[str, Any]) -> None:
    """Re-create the parent's main module now (mode "always") or on first use."""
    if not (data.get("main_module") or data.get("main_path")):
        return
    if data.get("main_mode") == "always":
        recreate_main(data)
    else:
        _install_main_on_demand(data)


def _apply_runtime_state(data: dict[str, Any]) -> None:
    """Take the parent's path, argv, start method and logging set-up."""
    from processing_core import _context, _util

    if data.get("cwd") and os.getcwd() != data["cwd"]:
        os.chdir(data["cwd"])
    sys.path[:] = data["sys_path"]
    sys.argv[:] = data["sys_argv"]
    if data.get("start_method"):
        _context.set_start_method(data["start_method"], force=True)
    if data.get("log_level") is not None or data.get("log_to_stderr"):
        _util._restore_logging_state((data.get("log_level"), bool(data.get("log_to_stderr"))))


def load_process(stream: BinaryIO, data: dict[str, Any]) -> Any:
    """Unpickle the process object (``__main__`` is re-created on first use, see ``_prepare``)."""
    authkey = data.get("authkey")
    if authkey is not None:
        # Objects unpickled with the process object (manager proxies, authenticated
        # connections) authenticate with the parent's key, before run() makes it ours.
        from processing_core import _process

        _process.current_process().authkey = authkey
    try:
        # The C unpickler alone: pickle.py would import re (and enum) for nothing.
        from _pickle import load
    except ImportError:  # pragma: no cover - interpreters without _pickle
        from pickle import load
    return load(stream)


def _install_main_on_demand(data: dict[str, Any]) -> None:
    """Stand in for ``__main__`` until something looks a name up in it, then re-create it.

    Whatever refers to the main module (the pickled target, or a task that arrives later
    through a pipe) triggers the re-creation through the first attribute look-up; a child
    whose work comes from other modules never pays for the main module's imports.
    """
    import types

    placeholder = types.ModuleType("__main__", "Stands in for the parent's main module until it is used.")

    def __getattr__(name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # introspection (inspect, warnings) must not trigger it
        recreate_main(data)
        main = sys.modules["__main__"]
        if main is placeholder:
            raise AttributeError(f"module '__main__' has no attribute {name!r}")
        return getattr(main, name)

    placeholder.__getattr__ = __getattr__  # type: ignore[method-assign]
    sys.modules["__main__"] = sys.modules[MAIN_NAME] = placeholder


def recreate_main(data: dict[str, Any]) -> None:
    """Run the parent's main script or module as ``__mp_main__`` (once per process)."""
    global _main_recreated  # noqa: PLW0603
    from processing_core import _process

    if _main_recreated:
        return
    _main_recreated = True
    _process._bootstrapping_main = True
    try:
        if data.get("main_module"):
            _run_main_module(data["main_module"])
        elif data.get("main_path"):
            _run_main_path(data["main_path"])
    finally:
        _process._bootstrapping_main = False


def _install_main(module: Any) -> None:
    sys.modules["__main__"] = sys.modules[MAIN_NAME] = module


def _run_main_path(path: str) -> None:
    """Run the parent's main script as ``__mp_main__`` (its ``__main__`` guard stays false)."""
    import types

    module = types.ModuleType(MAIN_NAME)
    module.__file__ = path
    module.__builtins__ = __builtins__  # type: ignore[attr-defined]
    with open(path, "rb") as source:
        code = compile(source.read(), path, "exec")
    _install_main(module)
    exec(code, module.__dict__)


def _run_main_module(name: str) -> None:
    """Run the parent's ``-m`` module as ``__mp_main__``."""
    import importlib.util
    import types

    spec = importlib.util.find_spec(name)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot find the main module {name!r} of the parent process")
    code = spec.loader.get_code(name)  # type: ignore[attr-defined]
    module = types.ModuleType(MAIN_NAME)
    module.__spec__ = spec
    module.__file__ = spec.origin
    module.__package__ = name.rpartition(".")[0] if not spec.submodule_search_locations else name
    module.__builtins__ = __builtins__  # type: ignore[attr-defined]
    _install_main(module)
    exec(code, module.__dict__)
