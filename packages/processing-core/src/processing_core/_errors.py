"""The exception hierarchy shared by every package of ``processing``."""

from __future__ import annotations

import builtins


class ProcessError(Exception):
    """Base class of the errors that ``processing`` raises itself."""


class BufferTooShort(ProcessError):
    """``recv_bytes_into`` was given a buffer too small for the message.

    The complete message is kept in ``args[0]``, so nothing received is lost.
    """


class TimeoutError(ProcessError, builtins.TimeoutError):
    """An operation with a timeout ran out of time.

    It is also a subclass of the built-in ``TimeoutError``, so either name catches it.
    """


class AuthenticationError(ProcessError):
    """A peer failed (or could not complete) the authentication handshake."""
