"""The errors a pool raises, and how a worker's exception travels back with its traceback."""

from __future__ import annotations

import signal
import traceback
from typing import Any

from processing_core._errors import ProcessError


class WorkerLostError(ProcessError):
    """The worker running a task died before it returned a result.

    Attributes:
        exitcode: the worker's exit code; negative when a signal killed it (``-9`` for
            ``SIGKILL``), ``None`` if it could not be learnt.
    """

    def __init__(self, exitcode: int | None, detail: str = "") -> None:
        self.exitcode = exitcode
        self.detail = detail
        super().__init__(exitcode, detail)

    def __str__(self) -> str:
        return describe_exit(self.exitcode) + (f" ({self.detail})" if self.detail else "")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.exitcode, self.detail))


def describe_exit(exitcode: int | None) -> str:
    """Say how a worker ended, naming the signal when one killed it."""
    if exitcode is None:
        return "a pool worker died (exit status unknown) while running this task"
    if exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"a pool worker was killed by {name} (exit code {exitcode}) while running this task"
    return f"a pool worker exited with exit code {exitcode} while running this task"


class SerializationError(ProcessError):
    """A task, its arguments, its result or its exception could not be pickled or unpickled.

    The original error (with the worker's traceback, when it happened there) is the
    ``__cause__``.
    """


class RemoteError(ProcessError):
    """A worker raised an exception that could not be sent back as itself.

    Raised in its place when the exception cannot be pickled, or its constructor does
    not accept its own ``args`` again.  ``exc_type`` names the original class and
    ``__cause__`` holds the worker's traceback.
    """

    def __init__(self, exc_type: str, message: str) -> None:
        self.exc_type = exc_type
        self.message = message
        super().__init__(exc_type, message)

    def __str__(self) -> str:
        return f"{self.exc_type}: {self.message} (raised in a pool worker; it could not be sent back as itself)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.exc_type, self.message))


class RemoteTraceback(Exception):
    """Carries a traceback formatted in a worker; set as the ``__cause__`` of what it raised."""

    def __init__(self, text: str) -> None:
        self.text = text
        super().__init__(text)

    def __str__(self) -> str:
        return "\n\n" + self.text.rstrip("\n") + "\n(the traceback above comes from a pool worker)"


def format_traceback(exc: BaseException) -> str:
    """Format ``exc`` with its traceback, as the worker that raised it saw it."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def _rebuild_with_traceback(exc: BaseException, text: str) -> BaseException:
    exc.__cause__ = RemoteTraceback(text)
    return exc


class ExceptionWithTraceback:
    """Pickles as ``exc`` with its worker traceback attached as ``__cause__`` on arrival."""

    def __init__(self, exc: BaseException, text: str) -> None:
        self.exc = exc
        self.text = text

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuild_with_traceback, (self.exc, self.text))


def with_cause(exc: BaseException, cause: BaseException) -> BaseException:
    """Return ``exc`` with ``cause`` set as its ``__cause__``."""
    exc.__cause__ = cause
    return exc
