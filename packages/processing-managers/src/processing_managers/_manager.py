"""``BaseManager``: starts or reaches a server process and makes shared objects in it."""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import os
import signal
import stat
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from processing_core import Pipe, current_process, get_context
from processing_core._process import AuthenticationString
from processing_core._util import Finalize, get_temp_dir, register_after_fork

from processing_managers import _wire
from processing_managers._proxy import AutoProxy, request
from processing_managers._server import Registration, Server
from processing_managers._wire import Token


class State(enum.Enum):
    """Where a manager is in its life."""

    INITIAL = "initial"
    STARTED = "started"
    CONNECTED = "connected"
    SHUTDOWN = "shutdown"


class BaseManager:
    """Starts a server process (or connects to one) and creates shared objects in it.

    Args:
        address: where the server listens: ``(host, port)`` for TCP (``('0.0.0.0', port)``
            to serve other machines), a path for a Unix socket, ``None`` for a fresh
            Unix socket.
        authkey: the key clients must know (default: this process's authkey).
        serializer: ``'pickle'`` or ``'xmlrpclib'`` (plain data only).
        ctx: the context whose start method starts the server (default: the default one).
        shutdown_timeout: seconds :meth:`shutdown` waits for the server before
            terminating it (and as long again before killing it).
    """

    _registry: ClassVar[dict[str, Registration]] = {}
    _Server: ClassVar[type[Server]] = Server

    def __init__(
        self,
        address: Any = None,
        authkey: bytes | None = None,
        serializer: str = "pickle",
        ctx: Any = None,
        *,
        shutdown_timeout: float = 1.0,
    ) -> None:
        if serializer not in _wire.SERIALIZERS:
            raise ValueError(f"unknown serializer {serializer!r}: choose one of {', '.join(_wire.SERIALIZERS)}")
        if authkey is not None and not isinstance(authkey, (bytes, bytearray)):
            raise TypeError(f"authkey must be bytes, not {type(authkey).__name__}")
        self._address = address
        self._authkey = AuthenticationString(authkey if authkey is not None else current_process().authkey)
        self._serializer = serializer
        self._ctx = ctx if ctx is not None else get_context()
        self._shutdown_timeout = shutdown_timeout
        self._state = State.INITIAL
        self._process: Any = None
        self._shutdown: Finalize | None = None

    # ------------------------------------------------------------ registry

    @classmethod
    def register(
        cls,
        typeid: str,
        callable: Callable[..., Any] | None = None,
        proxytype: Any = None,
        exposed: Sequence[str] | None = None,
        method_to_typeid: dict[str, str] | None = None,
        create_method: bool = True,
    ) -> None:
        """Register a type of shared object, and (by default) a method ``typeid`` that makes one.

        Args:
            typeid: the name of the type (and of the creating method).
            callable: makes the object in the server; ``None`` for managers that only
                connect to a server registering it.
            proxytype: the proxy class (default: an auto proxy exposing the object's
                public methods).
            exposed: the method names proxies may call (default: the proxy type's
                ``_exposed_``, else every public method).
            method_to_typeid: methods whose results are returned as new shared objects
                of the given type ids, rather than copied.
            create_method: whether to give the manager a method ``typeid``.
        """
        if "_registry" not in cls.__dict__:
            cls._registry = dict(cls._registry)  # a subclass gets its own copy
        proxytype = proxytype if proxytype is not None else AutoProxy
        exposed = exposed if exposed is not None else getattr(proxytype, "_exposed_", None)
        method_to_typeid = method_to_typeid or getattr(proxytype, "_method_to_typeid_", None)
        cls._registry[typeid] = Registration(
            callable,
            tuple(exposed) if exposed is not None else None,
            dict(method_to_typeid or {}) or None,
            proxytype,
            create_method,
        )
        if create_method:
            setattr(cls, typeid, _creator(typeid))

    # -------------------------------------------------------------- running

    def start(self, initializer: Callable[..., Any] | None = None, initargs: Sequence[Any] = ()) -> None:
        """Start the server process; return once it listens."""
        if self._state is not State.INITIAL:
            raise _state_error(self._state, "start")
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        if self._ctx.get_start_method() == "fork":
            _prepare_forked_server(self._address)
        # One socket pair carries the server's address up and, later, the shutdown
        # request down: shutting down needs no connection, handshake or server thread.
        control, server_end = Pipe(duplex=True)
        # Forked children (the server first) must not hold this end: its end (this
        # process exiting) then reaches the server as the end of the stream.
        register_after_fork(control, _close_quietly)
        self._process = self._ctx.Process(
            target=type(self)._run_server,
            args=(
                _server_registry(self._registry),
                self._address,
                bytes(self._authkey),
                self._serializer,
                server_end,
                initializer,
                tuple(initargs),
            ),
            name=f"{type(self).__name__}-server",
        )
        try:
            self._process.start()
        except BaseException:
            control.close()
            raise
        finally:
            server_end.close()
        try:
            self._address = control.recv()
        except EOFError:
            control.close()
            self._process.join()
            raise RuntimeError(
                f"the manager's server process exited before it listened (exit code {self._process.exitcode})"
            ) from None
        self._state = State.STARTED
        self._shutdown = Finalize(
            self,
            type(self)._finalize_manager,
            args=(
                self._process,
                control,
                self._address,
                bytes(self._authkey),
                self._serializer,
                self._shutdown_timeout,
            ),
            exitpriority=0,
        )

    @classmethod
    def _run_server(
        cls,
        registry: dict[str, Registration],
        address: Any,
        authkey: bytes,
        serializer: str,
        control: Any,
        initializer: Callable[..., Any] | None,
        initargs: tuple[Any, ...],
    ) -> None:
        # Ctrl-C at the terminal reaches the whole group; the parent decides when we stop.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        current_process().authkey = authkey
        if initializer is not None:
            initializer(*initargs)
        server = cls._Server(registry, address, authkey, serializer)
        control.send(server.address)
        server.serve_until_stopped(control, watch_parent=True)

    def get_server(self) -> Server:
        """Return a server for this manager's registry, to run here with ``serve_forever()``."""
        if self._state is not State.INITIAL:
            raise _state_error(self._state, "get_server")
        return self._Server(self._registry, self._address, bytes(self._authkey), self._serializer)

    def connect(self) -> None:
        """Connect to a server already running at ``address``."""
        if self._address is None:
            raise ValueError("connect() needs the address of a running manager")
        _wire.raise_from_reply(*request(self._address, bytes(self._authkey), self._serializer, _wire.OP_PING))
        self._state = State.CONNECTED

    def shutdown(self) -> None:
        """Stop the server process this manager started (proxies of it stop working)."""
        if self._shutdown is not None:
            self._shutdown()
        self._state = State.SHUTDOWN

    @staticmethod
    def _finalize_manager(
        process: Any, control: Any, address: Any, authkey: bytes, serializer: str, timeout: float
    ) -> None:
        try:
            if process.is_alive():
                # A server exiting already cannot be told: the join below sees it go.
                with contextlib.suppress(OSError):
                    control.send_bytes(b"shutdown")
                process.join(timeout=timeout)
                if process.is_alive():
                    process.terminate()
                    process.join(timeout=timeout)
                    if process.is_alive():
                        process.kill()
                        process.join()
            else:
                process.join()
        finally:
            control.close()
        if process.exitcode != 0:
            _remove_stale_socket_file(address)

    def join(self, timeout: float | None = None) -> None:
        """Wait for the server process to exit."""
        if self._process is not None:
            self._process.join(timeout)

    @property
    def address(self) -> Any:
        """The server's address."""
        return self._address

    def __enter__(self) -> BaseManager:
        if self._state is State.INITIAL:
            self.start()
        elif self._state is State.SHUTDOWN:
            raise _state_error(self._state, "enter")
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    # ------------------------------------------------------------- objects

    def _create(self, typeid: str, *args: Any, **kwargs: Any) -> tuple[Token, tuple[str, ...] | None]:
        if self._state not in (State.STARTED, State.CONNECTED):
            raise _state_error(self._state, f"create a {typeid!r}")
        token_data, exposed = _wire.raise_from_reply(
            *request(self._address, bytes(self._authkey), self._serializer, _wire.OP_CREATE, None, typeid, args, kwargs)
        )
        return Token.from_wire(token_data), tuple(exposed) if exposed is not None else None

    def _number_of_objects(self) -> int:
        """How many shared objects the server holds (for debugging)."""
        return int(
            _wire.raise_from_reply(*request(self._address, bytes(self._authkey), self._serializer, _wire.OP_COUNT))
        )

    def _debug_info(self) -> str:
        """A line per shared object in the server (for debugging)."""
        return str(
            _wire.raise_from_reply(*request(self._address, bytes(self._authkey), self._serializer, _wire.OP_DEBUG_INFO))
        )

    # The 0.52 names.
    @classmethod
    def from_address(cls, address: Any, authkey: bytes | None = None) -> BaseManager:
        """Return a manager connected to the server running at ``address``."""
        manager = cls(address=address, authkey=authkey)
        manager.connect()
        return manager

    fromAddress = from_address


def _server_registry(registry: dict[str, Registration]) -> dict[str, Registration]:
    # The server never builds proxies: leave the proxy types (which may not pickle) behind.
    return {typeid: dataclasses.replace(entry, proxytype=None) for typeid, entry in registry.items()}


def _prepare_forked_server(address: Any) -> None:
    """Do once in this process what every forked server would otherwise do again at its start.

    A server listening on a fresh Unix socket makes it in a private temporary
    directory: importing ``tempfile`` (and ``shutil``, which removes the directory) and
    making the directory take a forked child milliseconds, more than the rest of its
    start.  Done here, the child inherits both, and the socket lives in this process's
    directory, removed when this process exits (after its managers have shut down).
    """
    import shutil  # noqa: F401 - imported for the forked child's sake
    import tempfile  # noqa: F401

    if address is None:
        get_temp_dir()


def _close_quietly(connection: Any) -> None:
    with contextlib.suppress(OSError):
        connection.close()


def _state_error(state: State, action: str) -> RuntimeError:
    return RuntimeError(f"cannot {action}: the manager is {state.value}")


def _creator(typeid: str) -> Callable[..., Any]:
    def create(self: BaseManager, *args: Any, **kwargs: Any) -> Any:
        token, exposed = self._create(typeid, *args, **kwargs)
        proxytype = self._registry[typeid].proxytype
        return proxytype(
            token, self._serializer, manager=self, authkey=bytes(self._authkey), exposed=exposed, incref=False
        )

    create.__name__ = typeid
    create.__doc__ = f"Create a shared {typeid!r} object in the server and return a proxy of it."
    return create


class CreatorMethod:
    """The 0.52 way to register a type: a class attribute of a manager subclass.

    ``Foo = CreatorMethod(make_foo)`` in the class body registers the type id
    ``'Foo'`` (or ``typeid``) as :meth:`BaseManager.register` would.
    """

    def __init__(
        self,
        callable: Callable[..., Any] | None = None,
        proxytype: Any = None,
        exposed: Sequence[str] | None = None,
        typeid: str | None = None,
    ) -> None:
        self.callable = callable
        self.proxytype = proxytype
        self.exposed = exposed
        self.typeid = typeid

    def __set_name__(self, owner: type, name: str) -> None:
        if not issubclass(owner, BaseManager):
            raise TypeError("CreatorMethod belongs in a subclass of BaseManager")
        typeid = self.typeid or name
        owner.register(typeid, self.callable, self.proxytype, self.exposed)
        if typeid != name:
            setattr(owner, name, getattr(owner, typeid))


def _remove_stale_socket_file(address: Any) -> None:
    """A server that died (killed, crashed) could not remove its Unix socket file: do it
    here, with the private directory it was made in when that is left empty."""
    if not isinstance(address, str) or address.startswith("\0") or not os.path.exists(address):
        return
    with contextlib.suppress(OSError):
        if stat.S_ISSOCK(os.lstat(address).st_mode):
            os.unlink(address)
            directory = os.path.dirname(address)
            if os.path.basename(directory).startswith("pr-"):
                os.rmdir(directory)  # fails, harmlessly, unless empty
