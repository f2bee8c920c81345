"""Connections between processes: ``Pipe``, ``Listener``, ``Client``, ``wait`` and authentication.

The public module for what ``multiprocessing.connection`` (and 0.52's
``processing.connection``) offered, so ``from processing_core.connection import
Listener`` works.  Importing it also makes sockets picklable with ``ForkingPickler``.
"""

from __future__ import annotations

from processing_core._auth import answer_challenge, answerChallenge, deliver_challenge, deliverChallenge
from processing_core._connection import Connection, Pipe
from processing_core._context import register_context_method
from processing_core._errors import AuthenticationError, BufferTooShort
from processing_core._fdpass import (
    DupFd,
    allow_connection_pickling,
    connections_are_picklable,
    recv_handle,
    send_handle,
)
from processing_core._listener import (
    BUFSIZE,
    Client,
    Listener,
    address_type,
    addressType,
    arbitrary_address,
    arbitraryAddress,
    default_family,
    families,
)
from processing_core._wait import wait

__all__ = [
    "BUFSIZE",
    "AuthenticationError",
    "BufferTooShort",
    "Client",
    "Connection",
    "DupFd",
    "Listener",
    "Pipe",
    "addressType",
    "address_type",
    "allow_connection_pickling",
    "answerChallenge",
    "answer_challenge",
    "arbitraryAddress",
    "arbitrary_address",
    "connections_are_picklable",
    "default_family",
    "deliverChallenge",
    "deliver_challenge",
    "families",
    "recv_handle",
    "send_handle",
    "wait",
]


def _context_pipe(context: object, duplex: bool = True) -> tuple[Connection, Connection]:
    return Pipe(duplex)


register_context_method("Pipe", _context_pipe)
register_context_method("allow_connection_pickling", lambda context: allow_connection_pickling())
