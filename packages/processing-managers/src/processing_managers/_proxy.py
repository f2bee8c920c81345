"""Proxies: local stand-ins that forward calls to an object in a manager's server.

Reference counting: the server keeps an object while proxies of it exist.  A new
proxy either adopts a reference the server already counted for it (the result of
a create call, or of a method returning a shared object) or takes one with an
``incref``.  Pickling a proxy takes a reference on behalf of whoever unpickles it,
which adopts it; a proxy inherited through fork takes its own in the child.  A
proxy gives its reference back when it is collected (or at exit).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from typing import Any, ClassVar

from processing_core import current_process
from processing_core._listener import Client
from processing_core._util import Finalize, ForkAwareLocal, register_after_fork

from processing_managers import _wire
from processing_managers._server import GETVALUE, local_server
from processing_managers._spin import SpinWait
from processing_managers._wire import PROXY, Token

_per_thread = ForkAwareLocal()
_NO_KWARGS: dict[str, Any] = {}  # sent, never mutated: spares a dict per call
_proxy_types: dict[tuple[str, tuple[str, ...]], type] = {}
_proxy_types_lock = threading.Lock()


def _connection(address: Any, authkey: bytes, serializer: str) -> tuple[Any, SpinWait]:
    """This thread's authenticated connection to the server at ``address``, and its waiter."""
    try:
        channel = _per_thread.connections[address]
    except (AttributeError, KeyError):
        channel = None
    if channel is None or channel[0].closed:
        connections = _per_thread.__dict__.setdefault("connections", {})
        try:
            raw = Client(address, authkey=authkey)
        except OSError as exc:  # a server gone (shut down, or died) refuses or lacks its socket
            raise _wire.RemoteError(
                f"cannot reach the manager at {address!r} ({type(exc).__name__}: {exc}); it has probably shut down"
            ) from exc
        channel = connections[address] = (_wire.wrap_connection(raw, serializer), SpinWait(raw))
    return channel


def _forget_connection(address: Any) -> None:
    channel = _per_thread.__dict__.get("connections", {}).pop(address, None)
    if channel is not None:
        with contextlib.suppress(OSError):
            channel[0].close()


def request(
    address: Any,
    authkey: bytes,
    serializer: str,
    op: str,
    ident: Any = None,
    method: Any = None,
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
) -> tuple[int, Any]:
    """Send one request on this thread's connection to ``address``; return the raw reply."""
    connection, spin = _connection(address, authkey, serializer)
    try:
        connection.send((op, ident, method, args, kwargs if kwargs is not None else _NO_KWARGS))
        spin.wait()
        return connection.recv()
    except (EOFError, OSError) as exc:
        _forget_connection(address)
        raise _wire.RemoteError(
            f"lost the connection to the manager at {address!r} ({type(exc).__name__}: {exc}); "
            "it has probably shut down"
        ) from exc
    except BaseException:
        # Interrupted (Ctrl-C) with the reply still owed: the server would send it on
        # this connection later, as the answer to the next request.  Drop the connection.
        _forget_connection(address)
        raise


def _decref(token: Token, authkey: bytes, serializer: str) -> None:
    # Runs at collection or exit: a manager that is already gone has nothing to release.
    with contextlib.suppress(Exception):
        request(token.address, authkey, serializer, _wire.OP_DECREF, token.ident)


def _default_authkey(address: Any) -> bytes:
    server = local_server(address)
    return server.authkey if server is not None else bytes(current_process().authkey)


class BaseProxy:
    """Base class of every proxy.

    Args:
        token: names the shared object.
        serializer: the manager's serializer.
        manager: the manager that made the object, if known (it knows the proxy types
            of results that are themselves shared objects).
        authkey: the key to reach the server (default: this process's authkey).
        exposed: the method names the server lets this proxy call.
        incref: take a reference now; ``False`` adopts one counted already.
        manager_owned: kept for compatibility; proxies rebuilt inside the server
            count their own reference like any other.
    """

    _exposed_: ClassVar[tuple[str, ...] | None] = None
    _method_to_typeid_: ClassVar[dict[str, str] | None] = None

    def __init__(
        self,
        token: Token,
        serializer: str = "pickle",
        manager: Any = None,
        authkey: bytes | None = None,
        exposed: tuple[str, ...] | None = None,
        incref: bool = True,
        manager_owned: bool = False,
    ) -> None:
        self._token = token
        self._id = token.ident
        self._serializer = serializer
        self._manager = manager
        self._authkey = bytes(authkey) if authkey is not None else _default_authkey(token.address)
        self._exposed = exposed
        self._finalizer: Finalize | None = None
        if incref:
            self._incref()
        else:
            self._watch()
        register_after_fork(self, BaseProxy._after_fork)

    def _watch(self) -> None:
        self._finalizer = Finalize(self, _decref, args=(self._token, self._authkey, self._serializer), exitpriority=10)

    def _incref(self) -> None:
        _wire.raise_from_reply(*self._request(_wire.OP_INCREF))
        self._watch()

    def _after_fork(self) -> None:
        # The child holds a copy of this proxy: it takes a reference of its own.
        with contextlib.suppress(Exception):
            self._incref()

    def _request(
        self, op: str, method: Any = None, args: tuple[Any, ...] = (), kwargs: dict[str, Any] | None = None
    ) -> tuple[int, Any]:
        return request(self._token.address, self._authkey, self._serializer, op, self._id, method, args, kwargs)

    def _callmethod(self, methodname: str, args: tuple[Any, ...] = (), kwds: dict[str, Any] | None = None) -> Any:
        """Call ``methodname(*args, **kwds)`` on the shared object and return the result."""
        status, payload = self._request(_wire.OP_CALL, methodname, args, kwds)
        if status != PROXY:
            return _wire.raise_from_reply(status, payload)
        typeid, token_data, exposed = payload
        token = Token.from_wire(token_data)
        proxytype = self._proxytype_of(typeid)
        return proxytype(
            token, self._serializer, manager=self._manager, authkey=self._authkey, exposed=exposed, incref=False
        )

    def _proxytype_of(self, typeid: str) -> Any:
        registry = getattr(self._manager, "_registry", None) or {}
        registration = registry.get(typeid)
        return registration.proxytype if registration is not None else AutoProxy

    def _getvalue(self) -> Any:
        """Return a copy of the shared object (it must be picklable)."""
        return self._callmethod(GETVALUE)

    # The 0.52 names.
    _callMethod = _callmethod
    _getValue = _getvalue

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Take a reference for whoever unpickles this; the rebuilt proxy adopts it.
        _wire.raise_from_reply(*self._request(_wire.OP_INCREF))
        # Auto proxy classes are made at run time and cannot be pickled: rebuild by token.
        proxytype = None if isinstance(self, _AutoProxyBase) else type(self)
        return _rebuild_proxy, (proxytype, self._token, self._serializer, self._exposed)

    def __deepcopy__(self, memo: dict[int, Any]) -> Any:
        return self._getvalue()

    def __repr__(self) -> str:
        return f"<Proxy[{self._token.typeid}] object at {id(self):#x}>"

    def __str__(self) -> str:
        try:
            return str(self._callmethod("__repr__"))
        except Exception:
            return repr(self)[:-1] + "; '__str__()' failed>"


def _rebuild_proxy(proxytype: Any, token: Token, serializer: str, exposed: tuple[str, ...] | None) -> Any:
    if proxytype is None:
        return AutoProxy(token, serializer, exposed=exposed, incref=False)
    return proxytype(token, serializer, exposed=exposed, incref=False)


def RebuildProxy(func: Any, token: Token, serializer: str, kwds: dict[str, Any]) -> Any:
    """Make a proxy of the shared object ``token`` names, in this process.

    The function a custom proxy's ``__reduce__`` can name, as in ``multiprocessing``:
    ``return RebuildProxy, (type(self), self._token, self._serializer, {"exposed": self._exposed})``.

    Args:
        func: what makes the proxy, called as ``func(token, serializer, incref=..., **kwds)``:
            a proxy class or :func:`AutoProxy`.
        token: the shared object's token.
        serializer: the manager's serializer (``"pickle"`` or ``"xmlrpclib"``).
        kwds: more keyword arguments for ``func`` (``exposed``, ``authkey``...).  Its
            ``incref`` (default ``True``) says whether the new proxy takes a reference of
            its own on the server; ``False`` adopts one already counted for it.  The
            mapping is not modified.

    Returns:
        The new proxy.
    """
    options = dict(kwds)
    incref = bool(options.pop("incref", True))
    return func(token, serializer, incref=incref, **options)


def _make_method(name: str) -> Any:
    def method(self: BaseProxy, *args: Any, **kwds: Any) -> Any:
        return self._callmethod(name, args, kwds)

    method.__name__ = name
    method.__doc__ = f"Call ``{name}`` on the shared object."
    return method


def MakeProxyType(name: str, exposed: tuple[str, ...] | list[str], _cache: Any = None) -> type:
    """Return a proxy class whose methods forward each name in ``exposed``.

    Assign the result to a module-level name equal to ``name`` so that it pickles.
    """
    exposed = tuple(exposed)
    # The class belongs to the module that asked for it, so pickle finds it there by name.
    module = sys._getframe(1).f_globals.get("__name__", __name__)
    with _proxy_types_lock:
        cached = _proxy_types.get((name, exposed))
        if cached is not None:
            return cached
        namespace: dict[str, Any] = {
            "_exposed_": exposed,
            "__module__": module,
            "__doc__": f"Proxy whose methods forward {', '.join(exposed) or 'nothing'} to the shared object.",
        }
        for method_name in exposed:
            namespace[method_name] = _make_method(method_name)
        proxytype = type(name, (BaseProxy,), namespace)
        _proxy_types[(name, exposed)] = proxytype
        return proxytype


class _AutoProxyBase(BaseProxy):
    """Marks proxy classes made by :func:`AutoProxy`."""


def AutoProxy(
    token: Token,
    serializer: str = "pickle",
    manager: Any = None,
    authkey: bytes | None = None,
    exposed: tuple[str, ...] | None = None,
    incref: bool = True,
    manager_owned: bool = False,
) -> Any:
    """Return a proxy for ``token`` whose methods are the ones the server exposes."""
    key = bytes(authkey) if authkey is not None else _default_authkey(token.address)
    if exposed is None:
        exposed = _wire.raise_from_reply(*request(token.address, key, serializer, _wire.OP_EXPOSED, token.ident))
    base = MakeProxyType(f"AutoProxy[{token.typeid}]", tuple(exposed or ()))
    proxytype = _auto_proxy_type(base)
    return proxytype(token, serializer, manager=manager, authkey=key, exposed=tuple(exposed or ()), incref=incref)


def _auto_proxy_type(base: type) -> type:
    with _proxy_types_lock:
        cached = _proxy_types.get((base.__name__ + "+auto", ()))
        if cached is None:
            cached = type(base.__name__, (base, _AutoProxyBase), {})
            _proxy_types[(base.__name__ + "+auto", ())] = cached
        return cached
