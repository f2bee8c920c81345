"""Process queues on a shared-memory ring: ``Queue``, ``JoinableQueue``, ``SimpleQueue``.

Every queue is one :class:`processing_core._ring.Ring`: a ring of byte messages in an
unnamed shared memory file, guarded by a robust process-shared lock.  Items are pickled
in the caller of ``put`` (so an unpicklable item fails there, with nothing sent) with
:class:`processing_core._reduction.ForkingPickler`, and unpickled by ``get``.

* A bounded queue (``maxsize > 0``) keeps its limit in the ring: ``put`` waits in the
  ring for room, and ``Full`` means there was none in time.
* An unbounded queue's ``put`` never blocks: see :mod:`processing_sync._feeder`.
* ``qsize()``, ``empty()`` and ``full()`` read the ring's shared count, so they work on
  every platform; ``qsize()`` also counts the items this process still buffers.
* A queue travels to a child only when the child is created (inherited by fork, or
  pickled while a spawn or forkserver child starts); pickling it at any other time
  raises ``RuntimeError``.
"""

from __future__ import annotations

import io
import os
import pickle
import threading
import weakref
from collections.abc import Iterable
from queue import Empty, Full
from typing import Any

from processing_core._context import register_context_method
from processing_core._native import ffi, lib
from processing_core._reduction import ForkingPickler, assert_spawning
from processing_core._ring import DEFAULT_CAPACITY, Ring, RingEmpty, RingFull

from processing_sync._feeder import Feeder

__all__ = ["DEFAULT_BUFFER_SIZE", "Empty", "Full", "JoinableQueue", "Queue", "SimpleQueue"]

#: Bytes of shared ring per queue unless ``buffer_size`` says otherwise.  Items larger
#: than half of it still go through, in a separate part of the same shared file.
DEFAULT_BUFFER_SIZE = DEFAULT_CAPACITY
#: How many items ``get_many`` takes at most unless told otherwise.
DEFAULT_MAX_MESSAGES = 1000

_PROTOCOL = pickle.HIGHEST_PROTOCOL
# Exact instances of these types pickle the same with or without ForkingPickler's
# reducers (the pickler never consults a dispatch table for them), so they, and small
# tuples of them, take the faster module-level function.
_PLAIN_TYPES: frozenset[type] = frozenset({int, float, str, bytes, bool, type(None), complex})
_loads = pickle.loads


# A str or bytes item this large is pickled into pieces (see _dumps_into_pieces).
_PIECES_FROM = 64 << 10
_pickle_dumps = pickle.dumps
_quick_put = lib.prc_quick_ring_try_put


class _Sink:
    """A pickler's output file that keeps what it is given, without copying it."""

    __slots__ = ("write",)

    def __init__(self, pieces: list[Any]) -> None:
        self.write = pieces.append


class _Pickling(threading.local):
    def __init__(self) -> None:
        self.busy = False
        self.pieces: list[Any] = []
        self.pickler = ForkingPickler(_Sink(self.pieces), _PROTOCOL)


_pickling = _Pickling()


def _dumps(obj: Any, _plain: frozenset[type] = _PLAIN_TYPES) -> Any:
    """Pickle ``obj``: bytes, or a list of bytes-like pieces to be put as one message.

    A pickler writing to a file hands it a large str or bytes payload as a separate
    piece instead of copying it into its buffer, so such an item travels with a single
    copy, into the ring.
    """
    kind = type(obj)
    if kind in _plain:
        if (kind is bytes or kind is str) and len(obj) >= _PIECES_FROM:
            return _dumps_into_pieces(obj)
        return _pickle_dumps(obj, _PROTOCOL)
    if kind is tuple and len(obj) <= 16 and _plain.issuperset(map(type, obj)):
        return _pickle_dumps(obj, _PROTOCOL)
    state = _pickling
    if state.busy:  # a reducer running on this thread is itself putting to a queue
        return bytes(ForkingPickler.dumps(obj, _PROTOCOL))
    state.busy = True
    pieces = state.pieces
    try:
        state.pickler.dump(obj)
        return pieces[0] if len(pieces) == 1 else pieces[:]
    finally:
        state.pickler.clear_memo()
        pieces.clear()
        state.busy = False


_PICKLE_START = b"\x80" + bytes([_PROTOCOL])
# The opcodes that start a pickle of one str or bytes object (see _read_plain): the
# width of the length that follows, and whether it is text.
_PLAIN_PAYLOADS = {
    pickle.BINBYTES[0]: (4, False),
    pickle.BINBYTES8[0]: (8, False),
    pickle.BINUNICODE[0]: (4, True),
    pickle.BINUNICODE8[0]: (8, True),
}
_PLAIN_END = pickle.MEMOIZE + pickle.STOP


def _read_plain(pointer: Any, length: int) -> Any:
    """Decode a large message where it lies in the ring, if it is one str or bytes object.

    Such a pickle is a fixed header, the payload and a fixed end (what
    :func:`_dumps_into_pieces` makes); the object is then built straight from the ring,
    one copy instead of two.  Anything else is left to ``pickle.loads``
    (``NotImplemented``).  Runs with the ring locked: it only parses and copies.
    """
    head = ffi.unpack(pointer, 11 if length >= 11 else length)
    kind = _PLAIN_PAYLOADS.get(head[2]) if head[:2] == _PICKLE_START else None
    if kind is None or ffi.unpack(pointer + (length - 2), 2) != _PLAIN_END:
        return NotImplemented
    width, text = kind
    start = 3 + width
    size = int.from_bytes(head[3:start], "little")
    if start + size + 2 != length:
        return NotImplemented
    if text:
        return str(ffi.buffer(pointer + start, size), "utf-8", "surrogatepass")
    return ffi.unpack(pointer + start, size)


def _dumps_into_pieces(obj: Any) -> list[Any]:
    pieces: list[Any] = []
    pickle.Pickler(_Sink(pieces), _PROTOCOL).dump(obj)
    return pieces


def _dumps_many(iterable: Iterable[Any]) -> tuple[bytes, list[int]]:
    """Pickle every item, back to back in one buffer; return it and where each item ends.

    One pickler for the batch; its memo is cleared after each item, so every item is
    a complete pickle of its own.
    """
    buffer = io.BytesIO()
    pickler = ForkingPickler(buffer, _PROTOCOL)
    dump, clear, tell = pickler.dump, pickler.clear_memo, buffer.tell
    ends = []
    for obj in iterable:
        dump(obj)
        clear()
        ends.append(tell())
    return buffer.getvalue(), ends


def _loads_many(data: Any, count: int) -> list[Any]:
    """Unpickle ``count`` pickles that lie back to back in ``data``."""
    load = pickle.Unpickler(io.BytesIO(data)).load
    return [load() for _ in range(count)]


def _timeout_for(block: bool, timeout: float | None) -> float | None:
    """The ring's timeout for ``block``/``timeout`` with the standard library's rules."""
    if not block:
        return 0
    if timeout is None:
        return None
    if timeout < 0:
        raise ValueError("'timeout' must be a non-negative number")
    return timeout if timeout > 0 else 0


_live_queues: weakref.WeakSet[Any] = weakref.WeakSet()


def _reset_after_fork() -> None:
    for queue in list(_live_queues):
        queue._after_fork()


os.register_at_fork(after_in_child=_reset_after_fork)


class _RingQueue:
    """What every queue shares: the ring, pickling to children, ``get`` and friends."""

    _ring: Ring
    _closed: bool

    def __init__(self, maxsize: int, buffer_size: int | None) -> None:
        if not isinstance(maxsize, int):
            raise TypeError(f"maxsize must be an int, not {type(maxsize).__name__}")
        size = DEFAULT_BUFFER_SIZE if buffer_size is None else buffer_size
        if not isinstance(size, int) or size <= 0:
            raise ValueError(f"buffer_size must be a positive number of bytes, not {buffer_size!r}")
        self._maxsize = max(maxsize, 0)
        self._ring = Ring(size, self._maxsize)
        self._after_fork()

    def _after_fork(self) -> None:
        """Reset the state that belongs to one process (also in a freshly started child)."""
        self._closed = False
        _live_queues.add(self)

    def __getstate__(self) -> dict[str, Any]:
        assert_spawning(self)
        return {"ring": self._ring, "maxsize": self._maxsize}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._ring = state["ring"]
        self._maxsize = state["maxsize"]
        self._after_fork()

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError(f"{type(self).__name__} {self!r} is closed")

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        """Remove and return an item, waiting up to ``timeout`` seconds if ``block``.

        Raises:
            queue.Empty: no item in time (at once if ``block`` is false).
            ValueError: the queue was closed in this process.
        """
        if self._closed:
            self._check_open()
        try:
            wait = None if block and timeout is None else _timeout_for(block, timeout)
            return self._ring.get(wait, _loads, _read_plain)
        except RingEmpty:
            raise Empty from None

    def get_many(
        self, block: bool = True, timeout: float | None = None, max_messages: int = DEFAULT_MAX_MESSAGES
    ) -> list[Any]:
        """Remove and return between 1 and ``max_messages`` items taken in one step.

        Raises:
            queue.Empty: no item in time.
        """
        self._check_open()
        try:
            data, lengths = self._ring.get_packed(max_messages, _timeout_for(block, timeout))
        except RingEmpty:
            raise Empty from None
        return _loads_many(data, len(lengths))

    def empty(self) -> bool:
        """Return whether the queue holds no item (a snapshot: others may change it)."""
        return self.qsize() == 0

    def qsize(self) -> int:
        """Return the number of items in the queue (a snapshot: others may change it)."""
        return self._ring.count()

    def close(self) -> None:
        """Stop this process from using the queue; buffered items are still delivered."""
        self._closed = True


class Queue(_RingQueue):
    """A process-shared FIFO queue, like ``multiprocessing.Queue``.

    Args:
        maxsize: at most this many items at once; ``0`` (or less) for no limit, in
            which case ``put`` never blocks.
        ctx: the context it was made from (accepted for ``ctx.Queue()``; unused).
        buffer_size: bytes of shared ring (default 16 MiB).  A bounded queue is also
            full when its ring is.  Larger items go through as well.
    """

    _add_task = False

    def __init__(self, maxsize: int = 0, *, ctx: Any = None, buffer_size: int | None = None) -> None:
        super().__init__(maxsize, buffer_size)

    def _after_fork(self) -> None:
        _RingQueue._after_fork(self)
        self._feeder = Feeder(self._ring, self, add_task=self._add_task)
        self._handle = self._ring._handle
        self._backlog = self._feeder.backlog

    def put(self, obj: Any, block: bool = True, timeout: float | None = None) -> None:
        """Put ``obj`` into the queue.

        An unbounded queue accepts at once; a bounded one waits up to ``timeout``
        seconds for room if ``block`` is true.

        Raises:
            queue.Full: a bounded queue had no room in time.
            ValueError: the queue was closed in this process.
            pickle.PicklingError, TypeError, AttributeError: ``obj`` cannot be pickled;
                nothing was put and the queue stays usable.
        """
        if self._closed:
            self._check_open()
        data = _dumps(obj)
        if self._maxsize:
            try:
                wait = None if block and timeout is None else _timeout_for(block, timeout)
                if type(data) is bytes:
                    self._ring.put(data, wait, add_task=self._add_task)
                else:
                    self._ring.put_pieces(data, wait, add_task=self._add_task)
            except RingFull:
                raise Full from None
        # The common case in one quick call: nothing of this process waits in the
        # backlog (so order is kept), and the item fits now.  A broken ring or a feeder
        # error makes the quick call fail too, and the feeder reports it.
        elif self._backlog or type(data) is not bytes or _quick_put(self._handle, data, len(data), self._add_task):
            self._feeder.put(data)

    def put_many(self, iterable: Iterable[Any], block: bool = True, timeout: float | None = None) -> None:
        """Put every item of ``iterable``, in order, in as few steps as possible.

        All items are pickled first, so one that cannot be pickled puts nothing.

        Raises:
            queue.Full: a bounded queue had no room in time; the items before the one
                that did not fit were put (the exception says how many).
        """
        self._check_open()
        data, ends = _dumps_many(iterable)
        if not ends:
            return
        if self._maxsize:
            try:
                self._ring.put_packed(data, ends, _timeout_for(block, timeout), add_task=self._add_task)
            except RingFull as full:
                put = full.args[0]
                raise Full(f"put_many: {put} of {len(ends)} items were put before the queue was full") from None
        else:
            feeder = self._feeder
            if feeder.error is not None:
                raise feeder.error
            feeder.put_many(data, ends)

    def put_nowait(self, obj: Any) -> None:
        """Put ``obj`` without waiting: ``put(obj, False)``."""
        return self.put(obj, False)

    def get_nowait(self) -> Any:
        """Take an item without waiting: ``get(False)``."""
        return self.get(False)

    def qsize(self) -> int:
        """Return the number of items in the queue, counting ones this process still buffers."""
        return self._ring.count() + self._feeder.buffered()

    def full(self) -> bool:
        """Return whether a bounded queue holds ``maxsize`` items (never for unbounded ones)."""
        return bool(self._maxsize) and self._ring.count() >= self._maxsize

    def close(self) -> None:
        """Close the queue in this process: no more ``put``/``get`` here.

        Items already accepted are still written by the background thread.
        """
        self._closed = True
        self._feeder.close()

    def join_thread(self) -> None:
        """Wait for the background thread to write every buffered item; only after ``close()``."""
        if not self._closed:
            raise ValueError(f"join_thread() called before close() on {self!r}")
        self._feeder.join()

    def cancel_join_thread(self) -> None:
        """Do not wait for buffered items to be written when this process exits.

        The process can then exit at once even if nobody reads the queue, but items it
        still buffers are lost.
        """
        self._feeder.cancel_join()

    # The 0.52 names.
    putMany = put_many
    putNoWait = put_nowait
    getNoWait = get_nowait
    joinThread = join_thread
    cancelJoin = cancel_join_thread


class JoinableQueue(Queue):
    """A :class:`Queue` that counts unfinished tasks: ``task_done()`` and ``join()``.

    The count lives in the queue's shared memory, so any process may call either.
    """

    _add_task = True

    def task_done(self) -> None:
        """Tell the queue that an item taken with ``get`` has been dealt with.

        Raises:
            ValueError: called more times than items were put.
        """
        self._ring.task_done(1)

    def join(self) -> None:
        """Wait until every item put has been marked done with ``task_done()``."""
        self._ring.join(None)


class SimpleQueue(_RingQueue):
    """A minimal process-shared queue, like ``multiprocessing.SimpleQueue``.

    ``put`` writes into the shared ring directly (waiting while the ring is full): no
    background thread.

    Args:
        ctx: the context it was made from (accepted for ``ctx.SimpleQueue()``; unused).
        buffer_size: bytes of shared ring (default 16 MiB).
    """

    def __init__(self, *, ctx: Any = None, buffer_size: int | None = None) -> None:
        super().__init__(0, buffer_size)

    def put(self, obj: Any) -> None:
        """Put ``obj``, waiting while the shared ring is full."""
        self._check_open()
        data = _dumps(obj)
        if type(data) is bytes:
            self._ring.put(data, None)
        else:
            self._ring.put_pieces(data, None)

    def put_many(self, iterable: Iterable[Any]) -> None:
        """Put every item of ``iterable`` in order, as few lock acquisitions as possible."""
        self._check_open()
        data, ends = _dumps_many(iterable)
        self._ring.put_packed(data, ends, None)


def _context_factory(cls: type) -> Any:
    def make(ctx: Any, *args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("ctx", ctx)
        return cls(*args, **kwargs)

    make.__name__ = cls.__name__
    make.__doc__ = cls.__doc__
    return make


for _cls in (Queue, JoinableQueue, SimpleQueue):
    register_context_method(_cls.__name__, _context_factory(_cls))
