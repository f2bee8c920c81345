"""Mutual authentication of the two ends of a connection.

Each side proves that it knows the shared authkey without sending it: the challenger
sends ``#CHALLENGE:`` followed by ``{digest}`` and random bytes; the responder answers
``{digest}`` followed by the HMAC of everything after ``#CHALLENGE:`` (so the digest
name is covered too), keyed by the authkey; the challenger compares in constant time and
answers ``#WELCOME`` or ``#FAILURE``.  A connection runs it once in each direction.

Only short byte messages cross during the exchange (each one capped at
:data:`HANDSHAKE_MAX_MESSAGE` bytes), so nothing is unpickled from a peer before both
sides have authenticated.  The digest is named in the challenge so that it can evolve:
the responder accepts any digest of :data:`ACCEPTED_DIGESTS`, and the challenger
insists that the answer uses the one it asked for.
"""

from __future__ import annotations

import contextlib
import hmac
import os
from typing import Any

from processing_core._errors import AuthenticationError

__all__ = [
    "ACCEPTED_DIGESTS",
    "DEFAULT_DIGEST",
    "answerChallenge",
    "answer_challenge",
    "default_authkey",
    "deliverChallenge",
    "deliver_challenge",
]

DEFAULT_DIGEST = "sha256"
ACCEPTED_DIGESTS = frozenset({"sha256", "sha384", "sha512", "sha3_256", "sha3_384", "sha3_512", "blake2b"})
CHALLENGE = b"#CHALLENGE:"
WELCOME = b"#WELCOME"
FAILURE = b"#FAILURE"
NONCE_SIZE = 40
HANDSHAKE_MAX_MESSAGE = 256

_fallback_authkey = os.urandom(32)


def default_authkey() -> bytes:
    """Return the authkey of the current process (``current_process().authkey``)."""
    try:
        from processing_core._process import current_process
    except ImportError:  # pragma: no cover - only while the process module is missing
        return _fallback_authkey
    return bytes(current_process().authkey)


def _check_authkey(authkey: Any) -> bytes:
    if isinstance(authkey, str):
        # 0.52 authkeys were strings.
        return authkey.encode("utf-8")
    if not isinstance(authkey, (bytes, bytearray, memoryview)):
        raise TypeError(f"authkey should be a byte string, not {type(authkey).__name__}")
    return bytes(authkey)


def _receive(connection: Any, what: str) -> bytes:
    try:
        return bytes(connection.recv_bytes(HANDSHAKE_MAX_MESSAGE))
    except EOFError as exc:
        raise AuthenticationError(f"the peer closed the connection while {what}") from exc
    except OSError as exc:
        if connection.closed or not connection.readable:
            # A refused or truncated frame: what the peer sent was no handshake.
            raise AuthenticationError(f"protocol error while {what}: {exc}") from exc
        raise


def _digest_name(message: bytes) -> str:
    """Return the digest that ``{name}`` at the start of ``message`` names."""
    end = message.find(b"}", 1, 34)
    if not message.startswith(b"{") or end < 0:
        raise AuthenticationError(f"protocol error: the message names no digest: {message[:40]!r}")
    name = message[1:end].decode("ascii", "replace")
    if name not in ACCEPTED_DIGESTS:
        raise AuthenticationError(f"unsupported digest {name!r}; accepted: {', '.join(sorted(ACCEPTED_DIGESTS))}")
    return name


def deliver_challenge(connection: Any, authkey: bytes, digest: str = DEFAULT_DIGEST) -> None:
    """Challenge the peer to prove it knows ``authkey``.

    Raises:
        AuthenticationError: the peer's answer was wrong, or it broke the protocol.
    """
    authkey = _check_authkey(authkey)
    if digest not in ACCEPTED_DIGESTS:
        raise ValueError(f"unsupported digest {digest!r}; accepted: {', '.join(sorted(ACCEPTED_DIGESTS))}")
    prefix = b"{" + digest.encode("ascii") + b"}"
    message = prefix + os.urandom(NONCE_SIZE)
    connection.send_bytes(CHALLENGE + message)
    response = _receive(connection, "waiting for the answer to a challenge")
    expected = prefix + hmac.new(authkey, message, digest).digest()
    if hmac.compare_digest(response, expected):
        connection.send_bytes(WELCOME)
        return
    with contextlib.suppress(OSError):  # the verdict is a courtesy: the peer may be gone
        connection.send_bytes(FAILURE)
    raise AuthenticationError("digest received was wrong")


def answer_challenge(connection: Any, authkey: bytes) -> None:
    """Answer the peer's challenge, proving that this side knows ``authkey``.

    Raises:
        AuthenticationError: the peer rejected the answer, or it broke the protocol.
    """
    authkey = _check_authkey(authkey)
    challenge = _receive(connection, "waiting for a challenge")
    if not challenge.startswith(CHALLENGE):
        raise AuthenticationError(f"protocol error: expected a challenge, got {challenge[:40]!r}")
    message = challenge[len(CHALLENGE) :]
    digest = _digest_name(message)
    connection.send_bytes(b"{" + digest.encode("ascii") + b"}" + hmac.new(authkey, message, digest).digest())
    verdict = _receive(connection, "waiting for the verdict on an answer")
    if verdict != WELCOME:
        raise AuthenticationError("digest sent was rejected")


# The 0.52 names: the same callables.
deliverChallenge = deliver_challenge
answerChallenge = answer_challenge
