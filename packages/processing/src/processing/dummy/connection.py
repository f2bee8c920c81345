"""Connections between threads, as ``multiprocessing.dummy.connection`` (and 0.52's module).

``Pipe()``, ``Listener`` and ``Client`` with the API of :mod:`processing.connection`,
carried by in-process queues: objects are passed as they are, never pickled.  Closing
one end makes ``recv()`` at the other end raise ``EOFError`` once it has read what was
sent before.
"""

from __future__ import annotations

import time
from queue import Queue
from types import TracebackType
from typing import Any

families = [None]
#: Connections of threads are plain objects: they can be sent anywhere in the process.
connections_are_picklable = True

_EOF = object()  # what a closed end leaves in its peer's inbox


class Connection:
    """One end of a thread connection: ``send``/``recv``, ``poll``, ``close``.

    Args:
        inbox: The queue this end reads from.
        outbox: The queue this end writes to (the peer's inbox).
    """

    def __init__(self, inbox: Queue[Any], outbox: Queue[Any]) -> None:
        self._inbox = inbox
        self._outbox = outbox
        self._closed = False
        self._at_eof = False

    def _check_open(self) -> None:
        if self._closed:
            raise OSError("handle is closed")

    def send(self, obj: Any) -> None:
        """Send ``obj`` to the other end (the object itself, not a copy)."""
        self._check_open()
        self._outbox.put(obj)

    def recv(self) -> Any:
        """Return the next object sent by the other end; ``EOFError`` once it is closed and drained."""
        self._check_open()
        if self._at_eof:
            raise EOFError
        obj = self._inbox.get()
        if obj is _EOF:
            self._at_eof = True
            raise EOFError
        return obj

    def poll(self, timeout: float | None = 0.0) -> bool:
        """Return whether ``recv()`` would not block, waiting up to ``timeout`` seconds (``None``: forever)."""
        self._check_open()
        if self._at_eof:
            return True
        deadline = None if timeout is None else time.monotonic() + max(timeout, 0.0)
        with self._inbox.not_empty:
            while not self._inbox.queue:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._inbox.not_empty.wait(remaining)
            return True

    send_bytes = send
    recv_bytes = recv
    # The 0.52 names.
    sendBytes = send
    recvBytes = recv

    @property
    def closed(self) -> bool:
        """Whether ``close()`` was called on this end."""
        return self._closed

    def close(self) -> None:
        """Close this end; the other end's ``recv()`` then raises ``EOFError`` after what is pending."""
        if not self._closed:
            self._closed = True
            self._outbox.put(_EOF)

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def Pipe(duplex: bool = True) -> tuple[Connection, Connection]:
    """Return two connected ends; both can send and receive (``duplex`` is accepted and ignored)."""
    one: Queue[Any] = Queue()
    two: Queue[Any] = Queue()
    return Connection(one, two), Connection(two, one)


class Listener:
    """Accepts connections from ``Client(listener.address)`` in other threads.

    Args:
        address: Ignored; the listener's ``address`` is a queue of its own.
        family: Ignored (``families`` is ``[None]``).
        backlog: How many connections may wait to be accepted (``Client`` blocks beyond).
    """

    def __init__(self, address: Any = None, family: Any = None, backlog: int = 1) -> None:
        self._backlog: Queue[Connection] | None = Queue(backlog)

    @property
    def address(self) -> Queue[Connection]:
        """What to pass to ``Client``."""
        if self._backlog is None:
            raise OSError("listener is closed")
        return self._backlog

    def accept(self) -> Connection:
        """Wait for a ``Client`` and return this side's end of the connection."""
        return self.address.get()

    def close(self) -> None:
        """Stop accepting; connections already made keep working."""
        self._backlog = None

    def __enter__(self) -> Listener:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def Client(address: Queue[Connection]) -> Connection:
    """Connect to the ``Listener`` whose ``address`` is given; return this side's end."""
    if not isinstance(address, Queue):
        raise TypeError(f"a thread Client needs the address of a processing.dummy Listener, not {address!r}")
    mine, theirs = Pipe()
    address.put(theirs)
    return mine


__all__ = ["Client", "Connection", "Listener", "Pipe", "connections_are_picklable", "families"]
