"""Process-wide utilities: finalizers with exit priorities, after-fork hooks, logging.

* :class:`Finalize` runs a callback when an object is garbage collected, or at exit
  (in order of ``exitpriority``, highest first) for finalizers that have one.
* :func:`register_after_fork` records a hook run in a child started by ``processing``
  right after it was forked (before its ``run()``).
* :func:`get_logger` / :func:`log_to_stderr`: the ``processing`` logger, whose records
  carry the name of the process that made them (``record.processName``).
* The exit handler (registered with :mod:`atexit`) runs the finalizers, terminates
  daemonic children and joins the others; :func:`is_exiting` tells whether it started.
"""

from __future__ import annotations

import atexit
import itertools
import os
import sys
import threading
import weakref

# typing is not imported at run time: a spawned child's start-up is measured.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


# Kept out of a spawned child's start-up unless used: logging, typing, collections.
if TYPE_CHECKING:
    import logging
    from collections.abc import Callable, Iterable, Mapping, Sequence

__all__ = [
    "DEBUG",
    "DEFAULT_LOGGING_FORMAT",
    "INFO",
    "LOGGER_NAME",
    "NOTSET",
    "SUBDEBUG",
    "SUBWARNING",
    "Finalize",
    "ForkAwareLocal",
    "ForkAwareThreadLock",
    "close_all_fds_except",
    "debug",
    "get_logger",
    "get_temp_dir",
    "info",
    "is_exiting",
    "log_to_stderr",
    "register_after_fork",
    "sub_debug",
    "sub_warning",
]

NOTSET = 0
SUBDEBUG = 5
DEBUG = 10
INFO = 20
SUBWARNING = 25

LOGGER_NAME = "processing"
DEFAULT_LOGGING_FORMAT = "[%(levelname)s/%(processName)s] %(message)s"

_logger: logging.Logger | None = None
_log_to_stderr = False
_logger_lock = threading.Lock()


def _current_process_name() -> str:
    from processing_core._process import current_process

    try:
        return current_process().name
    except Exception:  # pragma: no cover - during interpreter teardown
        return "MainProcess"


def _stamp_process_name(record: logging.LogRecord) -> bool:
    """Logging filter: stamp each record with the name of the process that made it."""
    record.processName = _current_process_name()
    return True


def get_logger() -> logging.Logger:
    """Return the ``processing`` logger (created on first use, silent until configured).

    Records it makes carry ``processName``: the name of the current process, for
    example ``MainProcess`` or ``Process-1:2``.
    """
    global _logger  # noqa: PLW0603 - one logger per process
    import logging

    with _logger_lock:
        if _logger is None:
            logger = logging.getLogger(LOGGER_NAME)
            logger.propagate = False
            logger.addFilter(_stamp_process_name)
            logging.addLevelName(SUBDEBUG, "SUBDEBUG")
            logging.addLevelName(SUBWARNING, "SUBWARNING")
            _logger = logger
        return _logger


def log_to_stderr(level: int | str | None = None) -> logging.Logger:
    """Make the ``processing`` logger write to standard error; return it.

    Args:
        level: if given, the logger's new level (``logging.INFO``, ``"DEBUG"``, ...).
    """
    global _log_to_stderr  # noqa: PLW0603 - children started later inherit the setting
    import logging

    logger = get_logger()
    if not _log_to_stderr:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(DEFAULT_LOGGING_FORMAT))
        logger.addHandler(handler)
        _log_to_stderr = True
    if level is not None:
        logger.setLevel(level)
    return logger


def enable_logging(
    level: int | str,
    HandlerType: Callable[..., logging.Handler] | None = None,
    handlerArgs: Sequence[Any] = (),
    format: str | None = None,
) -> logging.Logger:
    """The 0.52 ``enableLogging``: configure the ``processing`` logger; return it.

    The first call installs ``HandlerType(*handlerArgs)`` (a ``StreamHandler`` to standard
    error by default) with ``format``; a later call that passes ``HandlerType`` replaces the
    handlers, and a later call without it only changes the level.
    """
    global _log_to_stderr  # noqa: PLW0603
    import logging

    logger = get_logger()
    if HandlerType is not None or not logger.handlers:
        handler = (HandlerType or logging.StreamHandler)(*handlerArgs)
        handler.setFormatter(logging.Formatter(format or DEFAULT_LOGGING_FORMAT))
        for old in list(logger.handlers):
            logger.removeHandler(old)
        logger.addHandler(handler)
        _log_to_stderr = HandlerType is None
    logger.setLevel(level)
    return logger


def _log(level: int, msg: str, *args: Any) -> None:
    if _logger is not None:
        _logger.log(level, msg, *args)


def sub_debug(msg: str, *args: Any) -> None:
    """Log at level ``SUBDEBUG`` (5) if the logger was created."""
    _log(SUBDEBUG, msg, *args)


def debug(msg: str, *args: Any) -> None:
    """Log at level ``DEBUG`` if the logger was created."""
    _log(DEBUG, msg, *args)


def info(msg: str, *args: Any) -> None:
    """Log at level ``INFO`` if the logger was created."""
    _log(INFO, msg, *args)


def sub_warning(msg: str, *args: Any) -> None:
    """Log at level ``SUBWARNING`` (25) if the logger was created."""
    _log(SUBWARNING, msg, *args)


def _logging_state() -> tuple[int | None, bool]:
    """What a spawned child needs to replay this process's logging set-up."""
    level = _logger.level if _logger is not None else None
    return level, _log_to_stderr


def _restore_logging_state(state: tuple[int | None, bool]) -> None:
    level, to_stderr = state
    if to_stderr:
        log_to_stderr(level)
    elif level is not None:
        get_logger().setLevel(level)


# ---------------------------------------------------------------- after-fork hooks

_after_fork_registry: weakref.WeakValueDictionary[tuple[int, int, Any], Any] = weakref.WeakValueDictionary()
_after_fork_counter = itertools.count()


def register_after_fork(obj: Any, func: Callable[[Any], object]) -> None:
    """Call ``func(obj)`` in each child that ``processing`` forks, before its ``run()``.

    The hook is held weakly through ``obj``: once ``obj`` is gone it is forgotten.
    Hooks run in registration order.
    """
    _after_fork_registry[(next(_after_fork_counter), id(obj), func)] = obj


def _run_after_forkers() -> None:
    for (_index, _ident, func), obj in sorted(_after_fork_registry.items(), key=lambda item: item[0][0]):
        try:
            func(obj)
        except Exception as exc:
            info("after-fork hook %r raised %r", func, exc)


# ---------------------------------------------------------------------- finalizers

_finalizer_registry: dict[tuple[Any, int], Finalize] = {}
_finalizer_counter = itertools.count()
_finalizer_lock = threading.RLock()


class Finalize:
    """Call ``callback(*args, **kwargs)`` once: when ``obj`` is collected, or at exit.

    Args:
        obj: the object whose collection triggers the callback, or ``None`` for an
            exit-only finalizer (which then needs an ``exitpriority``).
        callback: what to call.
        args: positional arguments for ``callback``.
        kwargs: keyword arguments for ``callback``.
        exitpriority: if not ``None``, the finalizer also runs at exit: the highest
            priorities first and, within one priority, the newest first.  Finalizers
            with a priority of at least 0 run before children are joined at exit.
    """

    def __init__(
        self,
        obj: Any,
        callback: Callable[..., Any],
        args: Sequence[Any] = (),
        kwargs: Mapping[str, Any] | None = None,
        exitpriority: int | None = None,
    ) -> None:
        if exitpriority is not None and not isinstance(exitpriority, int):
            raise TypeError(f"exitpriority must be an int or None, not {type(exitpriority).__name__}")
        if obj is None and exitpriority is None:
            raise ValueError("a Finalize without an object needs an exitpriority, or it would never run")
        self._weakref = weakref.ref(obj, self) if obj is not None else None
        self._callback: Callable[..., Any] | None = callback
        self._args = tuple(args)
        self._kwargs = dict(kwargs or {})
        self._key: tuple[Any, int] | None = (exitpriority, next(_finalizer_counter))
        self._pid = os.getpid()
        with _finalizer_lock:
            _finalizer_registry[self._key] = self

    def __call__(
        self,
        wr: object = None,
        # Bound as defaults: a collection may call this while the interpreter tears modules down.
        _lock: Any = _finalizer_lock,
        _registry: dict[tuple[Any, int], Finalize] = _finalizer_registry,
        _getpid: Callable[[], int] = os.getpid,
        _log: Callable[..., None] = sub_debug,
    ) -> Any:
        """Run the callback unless it already ran or was cancelled; return its result."""
        with _lock:
            key = self._key
            if key is None or _registry.pop(key, None) is None:
                return None
            callback, args, kwargs = self._callback, self._args, self._kwargs
            self._weakref = self._callback = self._key = None
            self._args, self._kwargs = (), {}
        if self._pid != _getpid():
            # Inherited through fork: the resource belongs to the parent.
            _log("finalizer ignored because it was created by another process")
            return None
        _log("finalizer calling %s with args %s and kwargs %s", callback, args, kwargs)
        assert callback is not None
        return callback(*args, **kwargs)

    def cancel(self) -> None:
        """Forget the finalizer without running it."""
        with _finalizer_lock:
            if self._key is not None:
                _finalizer_registry.pop(self._key, None)
            self._weakref = self._callback = self._key = None
            self._args, self._kwargs = (), {}

    def still_active(self) -> bool:
        """Return whether the callback has neither run nor been cancelled."""
        return self._key is not None and self._key in _finalizer_registry

    stillActive = still_active  # the 0.52 name

    def __repr__(self) -> str:
        obj = self._weakref() if self._weakref is not None else None
        if self._key is None or (self._weakref is not None and obj is None):
            return "<Finalize object, dead>"
        callback = getattr(self._callback, "__name__", repr(self._callback))
        text = f"<Finalize object, callback={callback}"
        if self._args:
            text += f", args={self._args!r}"
        if self._kwargs:
            text += f", kwargs={self._kwargs!r}"
        if self._key[0] is not None:
            # 0.52 printed "exitprority" (sic); reprs follow 0.52 where it defined them.
            text += f", exitprority={self._key[0]}"
        return text + ">"


def _run_finalizers(minpriority: int | None = None) -> None:
    """Run the finalizers with an exit priority >= ``minpriority``, highest first.

    With ``minpriority=None`` every finalizer with an exit priority runs.  Finalizers that
    the callbacks register meanwhile run too, in a further round.
    """
    while True:
        with _finalizer_lock:
            keys = sorted(
                (
                    key
                    for key in _finalizer_registry
                    if key[0] is not None and (minpriority is None or key[0] >= minpriority)
                ),
                reverse=True,
            )
        if not keys:
            return
        for key in keys:
            finalizer = _finalizer_registry.get(key)
            if finalizer is None:
                continue
            try:
                finalizer()
            except Exception:
                import traceback

                traceback.print_exc()


# ------------------------------------------------------------------------ at exit

_exiting = False


def is_exiting() -> bool:
    """Return whether this process has begun its exit handling."""
    return _exiting


def _exit_function() -> None:
    """At exit: finalizers >= 0, stop daemonic children, join the others, the rest."""
    global _exiting  # noqa: PLW0603
    if _exiting:
        return
    _exiting = True
    info('process shutting down: running all "atexit" finalizers with priority >= 0')
    _run_finalizers(0)
    # No process module loaded means no child was ever started from here.
    process_module = sys.modules.get("processing_core._process")
    if process_module is not None:
        for child in process_module.active_children():
            if child.daemon:
                info("calling terminate() for daemon %s", child.name)
                child.terminate()
        for child in process_module.active_children():
            info("calling join() for process %s", child.name)
            child.join()
    info('running the remaining "atexit" finalizers')
    _run_finalizers()


atexit.register(_exit_function)


def _reset_in_child() -> None:
    """In a freshly started child: forget the parent's finalizers and exit state."""
    global _exiting  # noqa: PLW0603
    _exiting = False
    with _finalizer_lock:
        _finalizer_registry.clear()


# ------------------------------------------------------------------- misc helpers

_temp_dir: str | None = None


def get_temp_dir() -> str:
    """Return a private directory for this process, removed at exit (e.g. for sockets)."""
    global _temp_dir  # noqa: PLW0603
    import shutil
    import tempfile

    if _temp_dir is None or not os.path.isdir(_temp_dir):
        _temp_dir = tempfile.mkdtemp(prefix="pr-")
        Finalize(None, shutil.rmtree, args=(_temp_dir, True), exitpriority=-100)
    return _temp_dir


def close_all_fds_except(fds: Iterable[int]) -> None:
    """Close every file descriptor of this process except those in ``fds``.

    Meant for a freshly forked child that must not hold its parent's descriptors.
    Descriptors 0, 1 and 2 are closed too unless listed.

    Args:
        fds: the descriptors to keep open (ints; negative ones are ignored).

    Raises:
        TypeError: if an item of ``fds`` is not an int.
    """
    keep = set()
    for fd in fds:
        if not isinstance(fd, int) or isinstance(fd, bool):
            raise TypeError(f"close_all_fds_except() needs int file descriptors, not {fd!r}")
        if fd >= 0:
            keep.add(fd)
    low = 0
    for fd in sorted(keep):
        if fd > low:  # an empty range must not reach closerange: (0, 0) would close everything
            os.closerange(low, fd)  # closes [low, fd): the gap below this keeper
        low = fd + 1
    high = _max_fd()
    if high > low:
        os.closerange(low, high)


def _max_fd() -> int:
    try:
        limit = os.sysconf("SC_OPEN_MAX")
    except (AttributeError, ValueError, OSError):
        limit = -1
    return limit if limit > 0 else 1 << 16


class ForkAwareThreadLock:
    """A ``threading.Lock`` replaced by a fresh, unlocked one in a forked child."""

    def __init__(self) -> None:
        self._reset()
        register_after_fork(self, ForkAwareThreadLock._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self.acquire = self._lock.acquire
        self.release = self._lock.release

    def __enter__(self) -> bool:
        return self._lock.__enter__()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()


class ForkAwareLocal(threading.local):
    """A ``threading.local`` whose attributes are cleared in a forked child."""

    def __init__(self) -> None:
        register_after_fork(self, lambda obj: obj.__dict__.clear())

    def __reduce__(self) -> tuple[type, tuple[()]]:
        return type(self), ()


def _flush_std_streams() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            if stream is not None:
                stream.flush()
        except (AttributeError, ValueError, OSError):
            pass
