"""``Listener`` and ``Client``: connections over TCP (IPv4, IPv6) and Unix sockets.

Unix socket files are created private to the user (mode 0600; those named by the
library sit in the process's private temporary directory) and removed when the
listener closes.  Addresses starting with a NUL character are Linux abstract-namespace
addresses: no file at all.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import os
import socket
from typing import Any

from processing_core._auth import answer_challenge, default_authkey, deliver_challenge
from processing_core._connection import Connection
from processing_core._handshakes import DEFAULT_HANDSHAKE_TIMEOUT, Handshakes
from processing_core._util import Finalize, get_temp_dir

__all__ = [
    "BUFSIZE",
    "Client",
    "Listener",
    "addressType",
    "address_type",
    "arbitraryAddress",
    "arbitrary_address",
    "default_family",
    "families",
]

BUFSIZE = 8192
families = ["AF_INET", "AF_INET6", "AF_UNIX"] if hasattr(socket, "AF_UNIX") else ["AF_INET", "AF_INET6"]
default_family = "AF_UNIX" if "AF_UNIX" in families else "AF_INET"
_counter = itertools.count()


def address_type(address: Any) -> str:
    """Return the family name (``'AF_INET'``, ``'AF_INET6'`` or ``'AF_UNIX'``) of an address."""
    if isinstance(address, tuple):
        if len(address) == 4 or (address and isinstance(address[0], str) and ":" in address[0]):
            return "AF_INET6"
        return "AF_INET"
    if isinstance(address, (str, bytes, os.PathLike)):
        return "AF_UNIX"
    raise ValueError(f"address type of {address!r} unrecognized")


def arbitrary_address(family: str) -> Any:
    """Return an address of ``family`` that is free to bind (a port or path chosen for you)."""
    if family == "AF_INET":
        return ("localhost", 0)
    if family == "AF_INET6":
        return ("::1", 0)
    if family == "AF_UNIX":
        return os.path.join(get_temp_dir(), f"listener-{os.getpid()}-{next(_counter)}-{os.urandom(4).hex()}")
    raise ValueError(f"unrecognized family {family!r}; known: {', '.join(families)}")


def _check_family(family: str) -> int:
    if family not in families:
        raise ValueError(f"family {family!r} is not supported here; known: {', '.join(families)}")
    return int(getattr(socket, family))


def _is_abstract(address: Any) -> bool:
    return isinstance(address, (str, bytes)) and address[:1] in ("\0", b"\0")


def _resolve_authkey(authkey: Any, authenticate: bool) -> bytes | None:
    if isinstance(authkey, bool):
        # 0.52 had ``authenticate`` where today's signature has ``authkey``.
        authenticate, authkey = authkey, None
    if authkey is None:
        return default_authkey() if authenticate else None
    if isinstance(authkey, str):
        return authkey.encode("utf-8")
    if not isinstance(authkey, (bytes, bytearray)):
        raise TypeError(f"authkey should be a byte string, not {type(authkey).__name__}")
    return bytes(authkey)


class Listener:
    """A socket that accepts connections, optionally authenticating each peer.

    Args:
        address: where to listen: ``(host, port)`` for TCP, a path (or an address
            starting with ``"\\0"``, Linux's abstract namespace) for a Unix socket.
            ``None`` picks a free one of ``family``.
        family: ``'AF_INET'``, ``'AF_INET6'`` or ``'AF_UNIX'``; by default taken from
            the address, else ``default_family``.
        backlog: how many connections may wait to be accepted.
        authkey: if given, every accepted peer must prove it knows this key (and this
            side proves it too) before the connection is handed out.
        authenticate: the 0.52 switch: authenticate with the current process's authkey
            when ``authkey`` is ``None``.
        max_message_size: the ``max_message_size`` of accepted connections (for
            untrusted peers).
        handshake_timeout: with an authkey, the seconds a peer has to finish the
            handshake (``None``: no limit).  Handshakes run side by side, each in its
            own thread, and ``accept()`` hands out connections in the order they
            finish: a peer that connects and says nothing delays nobody else.
    """

    def __init__(
        self,
        address: Any = None,
        family: str | None = None,
        backlog: int = 1,
        authkey: Any = None,
        authenticate: bool = False,
        *,
        max_message_size: int | None = None,
        handshake_timeout: float | None = DEFAULT_HANDSHAKE_TIMEOUT,
    ) -> None:
        if handshake_timeout is not None and (
            isinstance(handshake_timeout, bool)
            or not isinstance(handshake_timeout, (int, float))
            or not handshake_timeout > 0
        ):
            raise ValueError(f"handshake_timeout must be a positive number of seconds or None: {handshake_timeout!r}")
        family = family or (address_type(address) if address is not None else default_family)
        address = address if address is not None else arbitrary_address(family)
        self._family = _check_family(family)
        self._authkey = _resolve_authkey(authkey, authenticate)
        self._max_message_size = max_message_size
        self._handshake_timeout = handshake_timeout
        self._handshakes: Handshakes | None = None
        self._last_accepted: Any = None
        self._unlink: Finalize | None = None
        self._socket: socket.socket | None = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            if self._family != socket.AF_UNIX:
                self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            elif not _is_abstract(address):
                # Linux gives the socket file this mode (less the umask) at bind time,
                # so the file is never reachable by others, even for an instant.
                os.fchmod(self._socket.fileno(), 0o600)
            self._socket.bind(address)
            self._socket.listen(backlog)
        except BaseException:
            self._socket.close()
            raise
        if self._family == socket.AF_UNIX:
            if not _is_abstract(address):
                address = os.fspath(address)
                os.chmod(address, 0o600)  # where bind did not honour the socket's mode
                self._unlink = Finalize(self, _unlink_socket_file, args=(address,), exitpriority=0)
            self._address = address
        else:
            self._address = self._socket.getsockname()

    @property
    def address(self) -> Any:
        """The address the listener is bound to."""
        return self._address

    @property
    def last_accepted(self) -> Any:
        """The address of the peer most recently accepted (``None`` before any)."""
        return self._last_accepted

    def fileno(self) -> int:
        """Return the listening socket's file descriptor."""
        if self._socket is None:
            raise OSError(errno.EBADF, "listener is closed")
        return self._socket.fileno()

    def accept(self) -> Connection:
        """Accept one connection; with an authkey, authenticate the peer first.

        Raises:
            AuthenticationError: the peer failed authentication (its connection is closed).
            OSError: the listener is closed.
        """
        if self._socket is None:
            raise OSError(errno.EBADF, "listener is closed")
        if self._authkey is not None:
            if self._handshakes is None:
                self._handshakes = Handshakes(self._authkey, self._handshake_timeout, self._prepare)
            connection, self._last_accepted = self._handshakes.accept(self._socket)
        else:
            sock, self._last_accepted = self._socket.accept()
            self._prepare(sock)
            connection = Connection(sock.detach())
        # Set after the handshake, which caps its own messages.
        connection.max_message_size = self._max_message_size
        return connection

    def _prepare(self, sock: socket.socket) -> None:
        if self._family != socket.AF_UNIX:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def close(self) -> None:
        """Stop listening, cut off unfinished handshakes and remove the socket file, if any
        (closing twice does nothing)."""
        handshakes, self._handshakes = self._handshakes, None
        if handshakes is not None:
            handshakes.close()
        sock, self._socket = self._socket, None
        if sock is not None:
            sock.close()
        unlink, self._unlink = self._unlink, None
        if unlink is not None:
            unlink()

    @property
    def closed(self) -> bool:
        """True once the listener is closed."""
        return self._socket is None

    def __enter__(self) -> Listener:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._socket is None else f"address={self._address!r}"
        return f"<{type(self).__name__} {state}>"


def _unlink_socket_file(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def Client(
    address: Any,
    family: str | None = None,
    authkey: Any = None,
    authenticate: bool = False,
    *,
    max_message_size: int | None = None,
) -> Connection:
    """Connect to a ``Listener`` and return the connection.

    Args:
        address: the listener's address.
        family: the address family; by default taken from the address.
        authkey: if given, prove this side knows it and make the listener prove it too.
        authenticate: the 0.52 switch: authenticate with the current process's authkey
            when ``authkey`` is ``None``.
        max_message_size: the connection's ``max_message_size``.

    Raises:
        AuthenticationError: the listener failed authentication or rejected this side.
        ConnectionRefusedError: nothing listens at ``address``.
    """
    family = family or address_type(address)
    key = _resolve_authkey(authkey, authenticate)
    sock = socket.socket(_check_family(family), socket.SOCK_STREAM)
    try:
        sock.connect(os.fspath(address) if isinstance(address, os.PathLike) else address)
        if family != "AF_UNIX":
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    connection = Connection(sock.detach())
    if key is not None:
        try:
            answer_challenge(connection, key)
            deliver_challenge(connection, key)
        except BaseException:
            connection.close()
            raise
    connection.max_message_size = max_message_size
    return connection


# The 0.52 names: the same callables.
addressType = address_type
arbitraryAddress = arbitrary_address
