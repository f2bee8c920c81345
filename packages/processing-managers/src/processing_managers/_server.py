"""The manager's server: it owns the shared objects and answers proxies' calls.

One thread accepts connections; each connection gets a thread of its own that
first runs the mutual authentication handshake (so a client that connects and
says nothing, or says garbage, holds up no one) and then serves requests until the
client goes away.  Nothing a client sends is unpickled before it has authenticated.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from dataclasses import dataclass
from typing import Any

from processing_core import AuthenticationError, parent_process
from processing_core._auth import answer_challenge, deliver_challenge
from processing_core._connection import Connection
from processing_core._listener import Listener

from processing_managers import _wire
from processing_managers._spin import SpinWait
from processing_managers._wire import FAILED, PROXY, RAISED, RETURN, Token

# Authentication messages are tiny: a peer announcing more before it authenticated
# is refused before anything is allocated for it.
HANDSHAKE_MESSAGE_LIMIT = 4096
GETVALUE = "#GETVALUE"
# Methods every shared object answers, exposed or not: what str() and _getvalue() need.
ALWAYS_ALLOWED = frozenset({GETVALUE, "__repr__", "__str__"})
# The one reply that stops a client's thread after it is sent.
SHUTDOWN_REPLY = (RETURN, "shutting down")


@dataclass(frozen=True)
class Registration:
    """How the server makes and exposes objects of one type id."""

    callable: Any
    exposed: tuple[str, ...] | None
    method_to_typeid: dict[str, str] | None
    proxytype: Any
    create_method: bool = True


def public_methods(obj: Any) -> tuple[str, ...]:
    """The names of ``obj``'s callable attributes that do not start with ``_``."""
    return tuple(name for name in dir(obj) if not name.startswith("_") and callable(getattr(obj, name, None)))


_local_servers: dict[Any, Server] = {}


def local_server(address: Any) -> Server | None:
    """The server serving ``address`` in this process, if any (for proxies rebuilt inside it)."""
    return _local_servers.get(address)


class Server:
    """Serves the objects of one manager at one address.

    Args:
        registry: type id -> :class:`Registration`.
        address: where to listen (``None``: a fresh Unix socket).
        authkey: the key every client must prove it knows.
        serializer: ``'pickle'`` or ``'xmlrpclib'``.
    """

    def __init__(self, registry: dict[str, Registration], address: Any, authkey: bytes, serializer: str) -> None:
        if not isinstance(authkey, (bytes, bytearray)):
            raise TypeError(f"authkey must be bytes, not {type(authkey).__name__}")
        if serializer not in _wire.SERIALIZERS:
            raise ValueError(f"unknown serializer {serializer!r}: choose one of {', '.join(_wire.SERIALIZERS)}")
        self.registry = registry
        self.authkey = bytes(authkey)
        self.serializer = serializer
        self.listener = Listener(address=address, backlog=128)
        self.address = self.listener.address
        self._objects: dict[str, tuple[Any, frozenset[str] | None, dict[str, str]]] = {}
        self._refcounts: dict[str, int] = {}
        self._lock = threading.Lock()
        self._spin_slot = threading.Lock()
        self._stop = threading.Event()
        self._wake_w = -1  # while the serving thread watches descriptors: closed to wake it
        self._clients: set[Connection] = set()
        _local_servers[self.address] = self

    # ---------------------------------------------------------------- running

    def serve_forever(self) -> None:
        """Serve clients until a client asks for shutdown (or Ctrl-C), then clean up."""
        self.serve_until_stopped()

    serveForever = serve_forever  # the 0.52 name

    def serve_until_stopped(self, control: Any = None, watch_parent: bool = False) -> None:
        """Serve clients as :meth:`serve_forever` does, and also stop on the events given.

        Args:
            control: a connection whose other end the starting process holds: a
                message on it, or its end, stops the server.
            watch_parent: stop once the process that started this one has exited
                (a server whose parent died would serve no one).
        """
        # This thread watches those itself (a thread of its own would add a wake-up to
        # every stop); a shutdown request from a client wakes it through a pipe.
        wake_r, self._wake_w = os.pipe()
        watched = [*self._watched(control, watch_parent), wake_r]
        accepter = threading.Thread(target=self._accept_loop, name="manager-accepter", daemon=True)
        accepter.start()
        try:
            while not self._stop.is_set():
                readable, _, _ = select.select(watched, [], [], 1.0)
                if readable:
                    break
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()
            os.close(wake_r)

    def stop(self) -> None:
        """Stop accepting, disconnect every client and release every object."""
        self._request_stop()
        _local_servers.pop(self.address, None)
        with contextlib.suppress(OSError):
            self.listener.close()
        with self._lock:
            clients = list(self._clients)
            self._objects.clear()
            self._refcounts.clear()
        for connection in clients:
            with contextlib.suppress(OSError):
                connection.close()

    def stop_when_parent_exits(self) -> None:
        """Stop serving once the process that started this server has exited (blocks until then)."""
        watched = self._watched(None, True)
        while watched and not self._stop.is_set():
            readable, _, _ = select.select(watched, [], [], 1.0)
            if readable:
                self.stop()

    @staticmethod
    def _watched(control: Any, watch_parent: bool) -> list[int]:
        watched = []
        parent = parent_process() if watch_parent else None
        if parent is not None:
            with contextlib.suppress(ValueError):
                watched.append(parent.sentinel)
        if control is not None:
            watched.append(control.fileno())
        return watched

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                connection = self.listener.accept()
            except OSError:
                if self._stop.is_set():
                    return
                continue
            with self._lock:
                self._clients.add(connection)
            threading.Thread(target=self._serve_client, args=(connection,), name="manager-client", daemon=True).start()

    def _serve_client(self, connection: Connection) -> None:
        try:
            connection.max_message_size = HANDSHAKE_MESSAGE_LIMIT
            try:
                deliver_challenge(connection, self.authkey)
                answer_challenge(connection, self.authkey)
            except (AuthenticationError, EOFError, OSError, ValueError):
                return
            connection.max_message_size = None
            try:
                spin = SpinWait(connection)
            except OSError:
                return  # closed meanwhile: the server is stopping
            self._serve_requests(_wire.wrap_connection(connection, self.serializer), spin)
        finally:
            with self._lock:
                self._clients.discard(connection)
            with contextlib.suppress(OSError):
                connection.close()

    def _serve_requests(self, connection: Any, spin: SpinWait) -> None:
        recv, send, handle = connection.recv, connection.send, self.handle
        spin_slot = self._spin_slot
        while not self._stop.is_set():
            try:
                # One thread at a time spins for its client's next request: several
                # spinning together would only pass the GIL back and forth.
                if spin_slot.acquire(False):
                    try:
                        spin.wait()
                    finally:
                        spin_slot.release()
                request = recv()
            except EOFError as exc:
                if connection.closed:
                    return  # the client went away
                # A whole message arrived but its pickle was cut short: that request fails.
                reply: tuple[int, Any] = (FAILED, f"the manager could not decode a request: {exc!r}")
            except OSError:
                return  # the connection broke (or the server is stopping)
            except Exception as exc:
                reply = (FAILED, f"the manager could not decode a request: {exc!r}")
            else:
                reply = handle(request)
            try:
                send(reply)
            except (EOFError, OSError):
                return
            except Exception as exc:
                try:
                    send(_unsendable(reply, exc))
                except (EOFError, OSError):
                    return
            if reply is SHUTDOWN_REPLY:  # identity: a result's own __eq__ must never run here
                self._request_stop()
                return

    def _request_stop(self) -> None:
        self._stop.set()
        with self._lock:  # the descriptor is closed once, never a reused number
            wake_w, self._wake_w = self._wake_w, -1
        if wake_w >= 0:  # wakes the serving thread: the read end sees the end
            with contextlib.suppress(OSError):
                os.close(wake_w)

    # -------------------------------------------------------------- requests

    def handle(self, request: Any) -> tuple[int, Any]:
        """Carry out one request; return the reply."""
        try:
            op, ident, method, args, kwargs = request
            if type(args) is not tuple:  # XML-RPC sends lists
                args = tuple(args)
            if type(kwargs) is not dict:
                kwargs = dict(kwargs)
        except (TypeError, ValueError):
            return FAILED, f"malformed request: {request!r:.200}"
        if op == _wire.OP_CALL:
            return self._call(ident, method, args, kwargs)
        if op == _wire.OP_SHUTDOWN:
            return SHUTDOWN_REPLY
        operation = self._operations.get(op) if isinstance(op, str) else None
        if operation is None:
            return FAILED, f"unknown operation {op!r}"
        try:
            return RETURN, operation(self, ident, method, args, kwargs)
        except Exception as exc:
            return RAISED, (exc, _wire.format_exception(exc))

    def _op_create(self, ident: Any, typeid: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        token, exposed = self.create(typeid, *args, **kwargs)
        return token.to_wire(), exposed

    _operations: dict[str, Any] = {  # noqa: RUF012 - read-only dispatch table
        _wire.OP_CREATE: _op_create,
        _wire.OP_INCREF: lambda self, ident, *_: self.incref(ident),
        _wire.OP_DECREF: lambda self, ident, *_: self.decref(ident),
        _wire.OP_EXPOSED: lambda self, ident, *_: self._entry(ident)[1],
        _wire.OP_PING: lambda self, *_: "pong",
        _wire.OP_COUNT: lambda self, *_: len(self._objects),
        _wire.OP_DEBUG_INFO: lambda self, *_: self.debug_info(),
    }

    def _entry(self, ident: Any) -> tuple[Any, frozenset[str] | None, dict[str, str]]:
        try:
            return self._objects[ident]
        except (KeyError, TypeError):
            raise KeyError(
                f"the manager holds no shared object with id {ident!r} (it was released or never existed)"
            ) from None

    def _call(self, ident: Any, method: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[int, Any]:
        entry = self._objects.get(ident) if isinstance(ident, str) else None
        if entry is None:
            return FAILED, f"the manager holds no shared object with id {ident!r} (it was released or never existed)"
        obj, exposed, method_to_typeid = entry
        if not isinstance(method, str) or (
            exposed is not None and method not in exposed and method not in ALWAYS_ALLOWED
        ):
            return FAILED, f"method {method!r} is not exposed by the shared {type(obj).__name__} object"
        try:
            result = obj if method == GETVALUE else getattr(obj, method)(*args, **kwargs)
        except Exception as exc:
            return RAISED, (exc, _wire.format_exception(exc))
        typeid = method_to_typeid.get(method)
        if typeid is None:
            return RETURN, result
        token, exposed_names = self._register(typeid, result)
        return PROXY, (typeid, token.to_wire(), exposed_names)

    def create(self, typeid: str, *args: Any, **kwargs: Any) -> tuple[Token, tuple[str, ...] | None]:
        """Make a new shared object of ``typeid``; the caller's proxy holds its one reference."""
        registration = self.registry.get(typeid)
        if registration is None:
            raise KeyError(f"no type {typeid!r} is registered with this manager")
        if registration.callable is None:
            raise TypeError(f"type {typeid!r} was registered without a callable, so it cannot be created here")
        return self._register(typeid, registration.callable(*args, **kwargs))

    def _register(self, typeid: str, obj: Any) -> tuple[Token, tuple[str, ...] | None]:
        registration = self.registry.get(typeid)
        exposed = registration.exposed if registration and registration.exposed is not None else public_methods(obj)
        method_to_typeid = dict(registration.method_to_typeid or {}) if registration else {}
        ident = f"{id(obj):x}"
        with self._lock:
            if ident in self._objects:
                self._refcounts[ident] += 1
            else:
                self._objects[ident] = (obj, frozenset(exposed), method_to_typeid)
                self._refcounts[ident] = 1
        return Token(typeid, self.address, ident), tuple(exposed)

    def incref(self, ident: str) -> None:
        """Count one more proxy of ``ident``."""
        with self._lock:
            self._entry(ident)
            self._refcounts[ident] += 1

    def decref(self, ident: str) -> None:
        """Count one proxy of ``ident`` less; release the object when none is left."""
        released = None
        with self._lock:
            count = self._refcounts.get(ident)
            if count is None:
                return  # released already (the server is stopping, or a double decref)
            if count <= 1:
                released = self._objects.pop(ident, None)
                del self._refcounts[ident]
            else:
                self._refcounts[ident] = count - 1
        del released  # dropped outside the lock: its finalizers may call back in

    def debug_info(self) -> str:
        """One line per shared object: id, reference count and a short repr."""
        with self._lock:
            items = [(ident, self._refcounts[ident], obj) for ident, (obj, _, _) in self._objects.items()]
        return "\n".join(f"  {ident}: refcount={count}\n    {str(obj)[:75]}" for ident, count, obj in items)


def _unsendable(reply: tuple[int, Any], exc: BaseException) -> tuple[int, Any]:
    status, payload = reply
    if status == RAISED:
        return RAISED, (None, payload[1])  # the exception would not pickle: its traceback still goes
    return FAILED, f"the manager could not send the result back: {exc!r}"
