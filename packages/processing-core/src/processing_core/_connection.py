"""Connections: framed messages over a socket or a pipe, and ``Pipe()``.

The framing and the blocking loops are in C (``native/conn.c``): one call per
message, the header and the payload written together, small messages received
through a per-connection read-ahead buffer (one ``read()`` takes in many of them),
large payloads read straight into their final buffer, and the GIL released while
blocked.  Calls that cannot wait (serving the buffer, a write that fits) are quick
calls that keep the GIL.  A call interrupted by a signal
returns ``-EINTR`` with its progress saved; the loops here then retry, which gives
the Python signal handlers their chance to run first (so Ctrl-C interrupts a blocked
``recv()``) and loses no byte when a handler does not raise.
"""

from __future__ import annotations

import errno
import io
import math
import os
import pickle
import socket
import stat
import weakref
from typing import Any

from processing_core._conn_buffers import REUSE_AT, new_target, take_spare
from processing_core._conn_tuning import enlarge_socket_buffers, grow_pipe, pipe_limit, spin_ns
from processing_core._errors import BufferTooShort
from processing_core._native import ffi, lib
from processing_core._reduction import ForkingPickler

__all__ = ["Connection", "Pipe"]

# Messages up to this size are received into a per-connection scratch buffer and
# copied out; longer ones are read straight into a buffer of their exact size.
_SCRATCH_SIZE = 64 * 1024
# One read() takes in up to this much of what the peer wrote (see read_ahead).
_READ_AHEAD_SIZE = 64 * 1024
_NO_LIMIT = (1 << 64) - 1
_EINTR = -errno.EINTR
_NEED_BUFFER = lib.PRC_FRAME_NEED_BUFFER
_EOF = lib.PRC_FRAME_EOF
_TRUNCATED = lib.PRC_FRAME_TRUNCATED
_TOO_LONG = lib.PRC_FRAME_TOO_LONG
_AGAIN = lib.PRC_FRAME_AGAIN
# A pipe that carries a message longer than this grows to the system's limit.
_PIPE_GROW_AT = 64 * 1024

_frame_send = lib.prc_frame_send
_quick_send = lib.prc_quick_send
_conn_recv = lib.prc_conn_recv
_quick_recv = lib.prc_quick_conn_recv
_unpack = ffi.unpack
_from_buffer = ffi.from_buffer
_new_raw = ffi.new_allocator(should_clear_after_alloc=False)
_loads = pickle.loads
_close_fd = os.close
_HIGHEST = pickle.HIGHEST_PROTOCOL


def _dumps(obj: Any) -> memoryview:
    buffer = io.BytesIO()
    ForkingPickler(buffer, _HIGHEST).dump(obj)
    return buffer.getbuffer()


def _new_pickler() -> tuple[io.BytesIO, ForkingPickler]:
    stream = io.BytesIO()
    return stream, ForkingPickler(stream, _HIGHEST)


# Receiving connections, so that a forked child can disown the parent's read-ahead.
_receivers: weakref.WeakSet[Connection] = weakref.WeakSet()
# Marks a connection whose read-ahead stayed with the parent when the process forked.
_FORKED_AWAY = ("forked away",)


class Connection:
    """One end of a connection: a socket or a pipe carrying whole messages.

    Args:
        handle: the file descriptor; the connection owns it and closes it.
        readable: whether this end may receive.
        writable: whether this end may send.
        max_message_size: refuse (with ``OSError``, closing the connection) a message
            announced longer than this many bytes, before allocating anything for it.
            ``None`` accepts any size the memory allows.
    """

    def __init__(
        self, handle: int, readable: bool = True, writable: bool = True, *, max_message_size: int | None = None
    ) -> None:
        handle = handle.__index__()
        if handle < 0:
            raise ValueError(f"invalid file descriptor: {handle}")
        if not readable and not writable:
            raise ValueError("at least one of readable and writable must be True")
        kind = lib.prc_fd_is_socket(handle)
        if kind < 0:
            raise OSError(-kind, f"not a usable file descriptor: {handle}: {os.strerror(-kind)}")
        self._handle: int | None = handle
        self._readable = bool(readable)
        self._writable = bool(writable)
        self._kind = kind
        self._in = incoming = ffi.new("prc_conn_in *")
        self._frame = incoming.frame
        self._out = out = ffi.new("prc_conn_out *")
        out.fd = handle if writable else -1
        out.is_socket = kind
        if writable and not kind and stat.S_ISFIFO(os.fstat(handle).st_mode):
            # A pipe's write end does not block: a quick send tries a plain write()
            # with the GIL held; every blocking path waits for room with poll().
            os.set_blocking(handle, False)
            out.nonblocking = 1
        self._progress = ffi.addressof(out, "progress")
        self._scratch = _new_raw("char[]", _SCRATCH_SIZE) if readable else ffi.NULL
        if readable:
            self._read_buffer = _new_raw("char[]", _READ_AHEAD_SIZE)
            incoming.buf = self._read_buffer
            incoming.cap = _READ_AHEAD_SIZE
            # Not on sockets by default: a read past the message could swallow the
            # descriptors that send_handle() passes along the stream (the kernel closes
            # descriptors that a plain read() receives).
            incoming.read_ahead = 0 if kind == 1 else 1
            incoming.spin_ns = spin_ns()
            _receivers.add(self)
        self._pipe_grown = kind == 1
        self._pending: Any = None  # buffer of a large message whose reading was interrupted
        self._spare: bytes | None = None  # the last large message, for the next (see _conn_buffers)
        self._picklers: list[tuple[io.BytesIO, ForkingPickler]] = [_new_pickler()] if writable else []
        self._limit = _NO_LIMIT
        self.max_message_size = max_message_size

    # ------------------------------------------------------------ properties

    @property
    def closed(self) -> bool:
        """True once the connection is closed."""
        return self._handle is None

    @property
    def readable(self) -> bool:
        """True if this end can receive."""
        return self._readable

    @property
    def writable(self) -> bool:
        """True if this end can send."""
        return self._writable

    @property
    def max_message_size(self) -> int | None:
        """The longest message accepted, in bytes, or ``None`` for no limit."""
        return None if self._limit == _NO_LIMIT else self._limit

    @max_message_size.setter
    def max_message_size(self, value: int | None) -> None:
        if value is None:
            self._limit = _NO_LIMIT
            return
        value = value.__index__()
        if value < 0:
            raise ValueError(f"max_message_size must be >= 0, not {value}")
        self._limit = value

    @property
    def read_ahead(self) -> bool:
        """Whether a receive may take in more than the message it returns.

        On (the default for pipes), one ``read()`` takes in whatever the peer has
        written, up to 64 KiB, and the following receives are served from memory:
        many small messages cost one system call.  Bytes held this way do not show on
        the descriptor: ``poll()`` and ``wait()`` see them, but a selector watching
        ``fileno()`` does not, and the connection cannot be pickled while it holds
        some.  Off (the default for sockets, which may carry descriptors passed with
        ``send_handle()``), a receive reads exactly one message.
        """
        return bool(self._in.read_ahead)

    @read_ahead.setter
    def read_ahead(self, value: bool) -> None:
        self._in.read_ahead = 1 if value else 0

    def _buffered(self) -> bool:
        """Whether received bytes wait in memory (a closed connection holds none)."""
        incoming = self._in
        return incoming.end != incoming.start

    def buffered_bytes(self) -> int:
        """Return how many received bytes wait in memory (read ahead, not yet handed out)."""
        return int(self._in.end - self._in.start)

    def fileno(self) -> int:
        """Return the file descriptor of the connection."""
        if self._handle is None:
            raise OSError(errno.EBADF, "connection is closed")
        return self._handle

    def close(self) -> None:
        """Close the connection (closing it again does nothing)."""
        handle = self._handle
        if handle is not None:
            self._handle = None
            self._in.start = self._in.end = 0
            self._out.fd = -1
            self._spare = None
            os.close(handle)

    def __del__(self) -> None:
        handle = getattr(self, "_handle", None)
        if handle is not None:
            self._handle = None
            try:  # noqa: SIM105 - no contextlib here: at interpreter shutdown it may be gone
                _close_fd(handle)
            except (OSError, TypeError):  # TypeError: at interpreter shutdown
                pass

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        # The 0.52 repr.
        return f"Connection(handle={self._handle})"

    def __reduce__(self) -> tuple[Any, ...]:
        from processing_core._fdpass import reduce_connection

        return reduce_connection(self)

    # ---------------------------------------------------------------- checks

    def _check(self, reading: bool) -> int:
        handle = self._handle
        if handle is None:
            raise OSError(errno.EBADF, "connection is closed")
        if reading and not self._readable:
            raise OSError(errno.EBADF, "connection is write-only")
        if reading and self._pending is _FORKED_AWAY:
            raise OSError(
                errno.EBADF,
                "this connection had read ahead when the process forked; those bytes stayed with "
                "the parent, so the child cannot receive on it (set read_ahead = False before forking)",
            )
        if not reading and not self._writable:
            raise OSError(errno.EBADF, "connection is read-only")
        return handle

    def _fail(self, code: int, limit: int) -> None:
        """Raise the error that a negative result of the native layer stands for."""
        if code == _EOF:
            raise EOFError("the peer closed the connection")
        if code == _TRUNCATED:
            length = self._frame.length if self._frame.header_got == self._frame.header_len else None
            self._abandon()
            what = "its header" if length is None else f"a message of {length} bytes"
            raise OSError(errno.EPIPE, f"got end of file during message: the peer closed in the middle of {what}")
        if code == _TOO_LONG:
            length = self._frame.length
            # Over the connection's own limit (an untrusted peer): drop the connection.
            # Over a recv_bytes(maxlength): stop reading only, as multiprocessing does.
            outcome = self._abandon(keep_writing=length <= self._limit)
            raise OSError(
                errno.EMSGSIZE,
                f"bad message length: {length} bytes announced, at most {limit} allowed; {outcome}",
            )
        raise OSError(-code, os.strerror(-code))

    def _abandon(self, keep_writing: bool = False) -> str:
        """The incoming stream is out of step (a refused or truncated message): stop reading it.

        Returns what became of the connection, for the error message.
        """
        self._pending = None
        self._spare = None
        self._in.start = self._in.end = 0
        if keep_writing and self._writable:
            self._readable = False
            return "the connection is now write-only"
        self.close()
        return "connection closed"

    # ------------------------------------------------------------------ send

    def send_bytes(self, buf: Any, offset: int = 0, size: int | None = None) -> None:
        """Send the bytes of a bytes-like object as one message.

        Args:
            buf: any object supporting the buffer protocol.
            offset: where the message starts in ``buf``, in bytes.
            size: how many bytes to send (all of the rest by default).
        """
        if type(buf) is bytes and not offset and size is None:
            # The quick call answers -EBADF when closed or read-only (checked in the retry).
            rc = _quick_send(self._out, buf, len(buf))
            if rc:
                self._send_retry(rc, buf, len(buf))
            return
        handle = self._check(False)
        view = memoryview(buf)
        if view.itemsize > 1 or view.format != "B":
            view = view.cast("B")
        length = view.nbytes
        if offset < 0:
            raise ValueError(f"offset is negative: {offset}")
        if length < offset:
            raise ValueError(f"buffer length {length} < offset {offset}")
        if size is None:
            size = length - offset
        elif size < 0:
            raise ValueError(f"size is negative: {size}")
        elif offset + size > length:
            raise ValueError(f"buffer length {length} < offset + size ({offset} + {size})")
        pointer = _from_buffer(view) + offset
        rc = _frame_send(handle, self._kind, pointer, size, self._progress)
        if rc:
            self._send_retry(rc, pointer, size)

    def _send_retry(self, rc: int, data: Any, size: int) -> None:
        self._check(False)
        if not self._pipe_grown and size > _PIPE_GROW_AT:
            self._grow_pipe()
        try:
            while rc in (_EINTR, _AGAIN):
                # Looping back lets the signal handlers run (and raise) before the retry.
                rc = _frame_send(self._check(False), self._kind, data, size, self._progress)
            if rc:
                raise OSError(-rc, os.strerror(-rc))
        finally:
            if rc:
                self._progress[0] = 0

    def send(self, obj: Any) -> None:
        """Send a picklable object as one message."""
        handle = self._handle
        if handle is None or not self._writable:
            self._check(False)
        picklers = self._picklers
        if not picklers:
            # Another thread, or a reducer sending on this connection, has the pickler.
            buffer = _dumps(obj)
            data: Any = _from_buffer(buffer)
            size = len(buffer)
        else:
            # The connection's own pickler and buffer, reused: no set-up per message.
            # (list.pop and list.append are atomic, so two threads never share one.)
            cached = picklers.pop()
            stream, pickler = cached
            stream.seek(0)
            stream.truncate()
            try:
                pickler.dump(obj)
            except BaseException:
                picklers.append(_new_pickler())  # the old one may hold half a pickle
                raise
            finally:
                pickler.clear_memo()  # the memo must not keep the objects sent alive
            size = stream.tell()
            if size <= _SCRATCH_SIZE:
                data = stream.getvalue()
                picklers.append(cached)
            else:
                data = _from_buffer(stream.getbuffer())  # a large pickle: no copy, and no reuse
                picklers.append(_new_pickler())
        rc = _quick_send(self._out, data, size)
        if rc:
            self._send_retry(rc, data, size)

    def _grow_pipe(self) -> None:
        """A large message on a pipe: let it cross in fewer, larger steps."""
        self._pipe_grown = True
        grow_pipe(self._check(self._readable), pipe_limit())  # best effort (EPERM over the user's quota)

    # --------------------------------------------------------------- receive

    def recv_bytes(self, maxlength: int | None = None) -> bytes:
        """Receive one message and return its bytes.

        Args:
            maxlength: if given, a longer message raises ``OSError`` and closes the
                connection.

        Raises:
            EOFError: the peer closed the connection and nothing is left to read.
        """
        handle = self._handle
        if handle is None or not self._readable or self._pending is not None:
            self._check(True)
            return bytes(self._recv_pending(None, 0, maxlength))
        limit = self._limit
        if maxlength is not None:
            if maxlength < 0:
                raise ValueError(f"negative maxlength: {maxlength}")
            limit = min(limit, maxlength)
        scratch = self._scratch
        n = _quick_recv(handle, self._kind, self._in, scratch, _SCRATCH_SIZE, limit)
        if n >= 0:
            return _unpack(scratch, n)
        result = self._recv_slow(n, limit, scratch, _SCRATCH_SIZE)
        return _unpack(scratch, result) if isinstance(result, int) else bytes(result)

    def recv(self) -> Any:
        """Receive one message and unpickle it.

        Raises:
            EOFError: the peer closed the connection and nothing is left to read.
        """
        handle = self._handle
        if handle is None or not self._readable or self._pending is not None:
            self._check(True)
            return _loads(self._recv_pending(None, 0, None))
        scratch = self._scratch
        n = _quick_recv(handle, self._kind, self._in, scratch, _SCRATCH_SIZE, self._limit)
        if n >= 0:
            return _loads(_unpack(scratch, n))
        result = self._recv_slow(n, self._limit, scratch, _SCRATCH_SIZE)
        return _loads(_unpack(scratch, result) if isinstance(result, int) else result)

    def recv_bytes_into(self, buf: Any, offset: int = 0) -> int:
        """Receive one message into a writable buffer; return its length in bytes.

        Args:
            buf: a writable bytes-like object.
            offset: where to put the message in ``buf``, in bytes.

        Raises:
            BufferTooShort: the message does not fit; ``args[0]`` holds all of it.
        """
        self._check(True)
        view = memoryview(buf)
        if view.itemsize > 1 or view.format != "B":
            view = view.cast("B")
        if view.readonly:
            raise TypeError("recv_bytes_into needs a writable buffer")
        length = view.nbytes
        if offset < 0:
            raise ValueError(f"negative offset: {offset}")
        if offset > length:
            raise ValueError(f"offset {offset} is beyond the buffer's {length} bytes")
        if self._pending is not None:
            message = self._recv_pending(None, 0, None)
            if len(message) > length - offset:
                raise BufferTooShort(bytes(message))
            view[offset : offset + len(message)] = message
            return len(message)
        pointer = _from_buffer(view, require_writable=True) + offset
        n = _quick_recv(self._handle, self._kind, self._in, pointer, length - offset, self._limit)
        if n >= 0:
            return int(n)
        result = self._recv_slow(n, self._limit, pointer, length - offset)
        if isinstance(result, int):
            return result
        raise BufferTooShort(bytes(result))

    def _recv_slow(self, n: int, limit: int, into: Any, cap: int) -> Any:
        """Finish a receive that did not complete at once.

        Returns the message length (an int) when the message landed in ``into``
        (``cap`` bytes), or the message itself when it needed a buffer of its own.
        """
        try:
            while True:
                if n in (_EINTR, _AGAIN):
                    # Looping back lets the signal handlers run (and raise) before the retry.
                    n = _conn_recv(self._check(True), self._kind, self._in, into, cap, limit)
                elif n == _NEED_BUFFER:
                    if not self._pipe_grown and self._frame.length > _PIPE_GROW_AT:
                        self._grow_pipe()
                    return self._recv_pending(self._frame.length, limit, None)
                elif n >= 0:
                    return int(n)
                else:
                    self._fail(n, limit)
        except BaseException:
            frame = self._frame
            if self._handle is not None and frame.got and self._pending is None:
                # Interrupted with part of the message in ``into`` (the scratch buffer or
                # the caller's): keep it with the connection, so that the next receive,
                # whichever method makes it, completes the message.
                pending = bytearray(frame.length)
                pending[: frame.got] = ffi.buffer(into, frame.got)
                self._pending = (pending, _from_buffer(pending, require_writable=True))
            raise

    def _recv_pending(self, length: int | None, limit: int, maxlength: int | None) -> Any:
        """Read a large message into a buffer of its own (kept across interruptions)."""
        prefault = None
        if self._pending is None:
            assert length is not None
            spare = length >= REUSE_AT and take_spare(self, length)
            if spare:
                self._pending = spare
            else:
                target, pointer, prefault = new_target(length)
                self._pending = (target, pointer)
        target, pointer = self._pending
        try:
            if maxlength is not None and len(target) > maxlength:
                outcome = self._abandon(keep_writing=True)
                raise OSError(
                    errno.EMSGSIZE,
                    f"bad message length: {len(target)} bytes, at most {maxlength} allowed; {outcome}",
                )
            n = _EINTR
            while n == _EINTR:
                n = _conn_recv(self._check(True), self._kind, self._in, pointer, len(target), _NO_LIMIT)
        finally:
            if prefault is not None:
                prefault.finish()
        if n < 0:
            self._fail(n, limit)
        self._pending = None
        if n >= REUSE_AT and type(target) is bytes:
            self._spare = target
        return target

    def poll(self, timeout: float | None = 0.0) -> bool:
        """Return whether a message (or the end of the stream) is waiting to be read.

        Args:
            timeout: how long to wait, in seconds; ``None`` waits for ever.
        """
        handle = self._check(True)
        incoming = self._in
        if incoming.end != incoming.start:
            return True  # read ahead: a message, or its first bytes, is in memory
        if timeout is None:
            deadline = None
            wait_ms = -1
        else:
            timeout = max(0.0, float(timeout))
            deadline = _monotonic() + timeout
            wait_ms = min(math.ceil(timeout * 1000), 2**31 - 1)
        while True:
            rc = lib.prc_fd_poll_readable(handle, wait_ms)
            if rc >= 0 and (rc or deadline is None or _monotonic() >= deadline):
                return bool(rc)
            if rc < 0 and rc != _EINTR:
                raise OSError(-rc, os.strerror(-rc))
            handle = self._check(True)
            if deadline is not None:
                wait_ms = min(max(0, math.ceil((deadline - _monotonic()) * 1000)), 2**31 - 1)

    def _check_shareable(self) -> None:
        """Refuse to hand the descriptor on while received bytes wait in memory here."""
        incoming = self._in
        held = int(incoming.end - incoming.start)
        if held or incoming.frame.header_got or self._pending is not None:
            raise RuntimeError(
                f"cannot share {self!r}: {held} received byte(s) wait in its read-ahead buffer"
                f"{' and a message is half received' if incoming.frame.header_got or self._pending else ''}; "
                "the descriptor cannot carry them. Receive the waiting messages first (while poll() is "
                "True), or set read_ahead = False before receiving on a connection you mean to share"
            )

    def _forget_read_ahead(self) -> None:
        """In a forked child: the read-ahead bytes belong to the parent, which received them."""
        self._spare = None  # shared with the parent: writing into it would copy every page
        incoming = self._in
        if incoming.end != incoming.start or incoming.frame.header_got:
            incoming.start = incoming.end = 0
            self._pending = _FORKED_AWAY

    # The 0.52 names: the same callables.
    sendBytes = send_bytes
    recvBytes = recv_bytes
    recvBytesInto = recv_bytes_into


def _monotonic() -> float:
    return int(lib.prc_monotonic_ns()) / 1e9


def Pipe(duplex: bool = True) -> tuple[Connection, Connection]:
    """Return a pair of connected ``Connection`` objects.

    Args:
        duplex: two-way connections over a socket pair (the default), or a one-way
            OS pipe: the first connection can only receive, the second only send.
    """
    if duplex:
        left, right = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        for sock in (left, right):
            enlarge_socket_buffers(sock)
        return Connection(left.detach()), Connection(right.detach())
    reader, writer = os.pipe()
    return Connection(reader, writable=False), Connection(writer, readable=False)


def _after_fork_in_child() -> None:
    for conn in list(_receivers):
        conn._forget_read_ahead()


os.register_at_fork(after_in_child=_after_fork_in_child)
