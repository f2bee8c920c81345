"""Connections between processes, as ``multiprocessing.connection`` and 0.52's ``processing.connection``.

Re-exports :mod:`processing_core.connection`: ``Pipe``, ``Listener``, ``Client``, ``wait``,
the ``Connection`` class, authentication, and the 0.52 names (``deliverChallenge``,
``answerChallenge``, ``arbitraryAddress``, ``addressType``).
"""

from __future__ import annotations

from processing_core.connection import (
    BUFSIZE,
    AuthenticationError,
    BufferTooShort,
    Client,
    Connection,
    Listener,
    Pipe,
    address_type,
    addressType,
    answer_challenge,
    answerChallenge,
    arbitrary_address,
    arbitraryAddress,
    connections_are_picklable,
    default_family,
    deliver_challenge,
    deliverChallenge,
    families,
    wait,
)

__all__ = [
    "BUFSIZE",
    "AuthenticationError",
    "BufferTooShort",
    "Client",
    "Connection",
    "Listener",
    "Pipe",
    "addressType",
    "address_type",
    "answerChallenge",
    "answer_challenge",
    "arbitraryAddress",
    "arbitrary_address",
    "connections_are_picklable",
    "default_family",
    "deliverChallenge",
    "deliver_challenge",
    "families",
    "wait",
]
