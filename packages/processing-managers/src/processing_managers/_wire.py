"""What travels between a manager's server and its clients.

A request is a tuple ``(op, ident, method, args, kwargs)``; a reply is
``(status, payload)``.  Both go through the connection's serializer: pickle (the
default) or ``xmlrpclib`` (plain data only, as 0.52 offered).  Nothing is
deserialized before the peer has authenticated: the listener authenticates every
connection first.
"""

from __future__ import annotations

import traceback
import xmlrpc.client
from dataclasses import dataclass
from typing import Any

from processing_core import ProcessError
from processing_core._connection import Connection

# Operations a client may ask for.
OP_CALL = "call"
OP_CREATE = "create"
OP_INCREF = "incref"
OP_DECREF = "decref"
OP_EXPOSED = "exposed"
OP_PING = "ping"
OP_SHUTDOWN = "shutdown"
OP_COUNT = "count"
OP_DEBUG_INFO = "debug_info"

# Reply statuses.
RETURN = 0  # payload: the result
RAISED = 1  # payload: (exception or None, remote traceback text)
PROXY = 2  # payload: (typeid, Token, exposed) of a new shared object
FAILED = 3  # payload: text of a failure the server could not send as an exception


class RemoteError(ProcessError):
    """An error raised in the manager's server process, with its traceback as text.

    ``str()`` of it shows the remote traceback.  When the remote exception itself
    could be sent back, the manager raises that exception instead, with a
    ``RemoteError`` holding the traceback as its ``__cause__``.
    """

    def __str__(self) -> str:
        text = self.args[0] if self.args else ""
        bar = "-" * 75
        return f"\n{bar}\n{text}{bar}" if text else ""


@dataclass(frozen=True)
class Token:
    """Names a shared object: its type id, its server's address and its id there."""

    typeid: str
    address: Any
    ident: str

    def __repr__(self) -> str:
        return f"Token(typeid={self.typeid!r}, address={self.address!r}, id={self.ident!r})"

    def to_wire(self) -> tuple[str, Any, str]:
        """Plain data, so that every serializer (XML-RPC too) carries it."""
        return self.typeid, self.address, self.ident

    @classmethod
    def from_wire(cls, data: Any) -> Token:
        """Rebuild a token sent with :meth:`to_wire` (XML-RPC turns tuples into lists)."""
        typeid, address, ident = data
        return cls(typeid, tuple(address) if isinstance(address, list) else address, ident)


class XmlRpcConnection:
    """A connection whose messages are XML-RPC marshalled (plain data only)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def send(self, obj: Any) -> None:
        """Marshal ``obj`` (a request or reply tuple of plain data) and send it."""
        self._connection.send_bytes(xmlrpc.client.dumps((obj,), allow_none=True).encode("utf-8"))

    def recv(self) -> Any:
        """Receive and unmarshal one message."""
        (obj,), _ = xmlrpc.client.loads(self._connection.recv_bytes().decode("utf-8"))
        return _untuple(obj)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)


def _untuple(obj: Any) -> Any:
    # XML-RPC turns tuples into lists; requests and replies are read as tuples.
    return tuple(obj) if isinstance(obj, list) else obj


SERIALIZERS = ("pickle", "xmlrpclib")


def wrap_connection(connection: Connection, serializer: str) -> Any:
    """Return ``connection`` speaking ``serializer`` (``'pickle'`` or ``'xmlrpclib'``)."""
    if serializer == "pickle":
        return connection
    if serializer == "xmlrpclib":
        return XmlRpcConnection(connection)
    raise ValueError(f"unknown serializer {serializer!r}: choose one of {', '.join(SERIALIZERS)}")


def format_exception(exc: BaseException) -> str:
    """The traceback of ``exc`` as the server formats it for a client."""
    return "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))


def raise_from_reply(status: int, payload: Any) -> Any:
    """Return the result of a reply, or raise what it reports."""
    if status == RETURN:
        return payload
    if status == RAISED:
        exc, text = payload
        remote = RemoteError(text)
        if isinstance(exc, BaseException):
            raise exc from remote
        raise remote
    if status == FAILED:
        raise RemoteError(payload)
    raise RemoteError(f"the manager sent a reply of unknown status {status!r}")
