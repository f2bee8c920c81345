"""The per-process buffer and background thread behind an unbounded queue's ``put``.

An unbounded queue's ``put`` must never block its caller.  Items go straight into the
shared ring whenever it has room; when it has not, they wait in this process's buffer.

Only non-blocking writes are ever made, always from the head of the buffer and always
under this process's buffer lock, so one producer's items keep their order.  Every
``put`` first moves what it can of the buffer into the ring (so a busy producer feeds
its own backlog and never depends on another thread getting the GIL), then writes or
buffers its own item.  A daemon thread covers the time when the producer stops putting:
it sleeps in the ring until the item at the head of the buffer would fit, then moves
what it can.

At exit the thread is joined (a finalizer of priority -5, as in ``multiprocessing``), so
nothing accepted by ``put`` is lost when the process ends normally right after it;
:meth:`Feeder.cancel_join` gives that up for processes that must not wait.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections import deque
from typing import Any

from processing_core import _util
from processing_core._native import lib
from processing_core._ring import _NOT_NOW, Ring, RingFull

_ring_put = lib.prc_ring_put
# The feeder thread re-checks its state at least this often while it waits for room.
_WAIT_SLICE = 1.0
# How long the thread watches for more puts before it feeds the backlog itself.
_IDLE = 0.002


class Feeder:
    """Buffer pickled items of one process and feed them into ``ring`` in order."""

    def __init__(self, ring: Ring, owner: object, *, add_task: bool) -> None:
        self._ring = ring
        self._handle = ring._handle
        self._owner = weakref.ref(owner)
        self._add_task = add_task
        # The fast path takes the bare lock (cheaper than entering the condition).
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        # Items already counted as tasks (JoinableQueue) when they were buffered.  Read
        # without the lock by the queue's fast path: empty means every item this process
        # accepted is in the ring (an item leaves it only after it was put).
        self.backlog: deque[bytes | list[bytes]] = deque()
        self._buffer = self.backlog
        self._closing = False
        self._puts = 0  # puts so far: the thread stands aside while this moves
        self._thread: threading.Thread | None = None
        self._close_at_exit: _util.Finalize | None = None
        self._join_at_exit: _util.Finalize | None = None
        self._join_cancelled = False
        self.error: BaseException | None = None

    def buffered(self) -> int:
        """Items accepted by this process but not yet in the ring."""
        return len(self._buffer)

    def _drain(self) -> bool:
        """Move buffered items into the ring while they fit; return whether all went.

        Called with the lock held.
        """
        buffer, ring = self._buffer, self._ring
        while buffer:
            head = buffer[0]
            if not (ring.try_put(head) if type(head) is bytes else ring.try_put_pieces(head)):
                return False
            buffer.popleft()
        if self._closing:
            self._cond.notify_all()
        return True

    def put(self, data: bytes | list[Any]) -> None:
        """Put one pickled item (bytes, or a list of pieces) without ever blocking on the ring."""
        if self.error is not None:
            raise self.error
        with self._lock:
            self._puts += 1
            if not self._buffer:
                if type(data) is not bytes:
                    if self._ring.try_put_pieces(data, self._add_task):
                        return
                else:
                    # Straight into the ring.
                    rc = _ring_put(self._handle, data, len(data), 0, self._add_task)
                    if rc == 0:
                        return
                    if rc not in _NOT_NOW:
                        # Not a full ring: let the wrapper turn the code into its exception.
                        self._ring.put(data, 0, add_task=self._add_task)
                        return
            elif self._drain() and self._try_put(data):
                return
            if self._add_task:
                self._ring.tasks_add(1)
            self._buffer.append(_kept(data))
            self._wake()

    def _try_put(self, data: bytes | list[Any]) -> bool:
        if type(data) is bytes:
            return self._ring.try_put(data, self._add_task)
        return self._ring.try_put_pieces(data, self._add_task)

    def put_many(self, data: bytes, ends: list[int]) -> None:
        """Put pickled items packed in ``data`` (item ``i`` ends at ``ends[i]``), in order, never blocking."""
        with self._lock:
            self._puts += 1
            start = 0
            if not self._buffer or self._drain():
                try:
                    start = self._ring.put_packed(data, ends, 0, add_task=self._add_task)
                except RingFull as full:
                    start = int(full.args[0])
            if start < len(ends):
                view = memoryview(data)
                rest = [bytes(view[(ends[i - 1] if i else 0) : ends[i]]) for i in range(start, len(ends))]
                if self._add_task:
                    self._ring.tasks_add(len(rest))
                self._buffer.extend(rest)
                self._wake()

    def _wake(self) -> None:
        # Called with the lock held.
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="QueueFeederThread", daemon=True)
            self._thread.start()
            # When the queue is collected, or at exit before children are joined, the
            # thread is told to finish (like multiprocessing's close sentinel) ...
            self._close_at_exit = _util.Finalize(self._owner(), self.close, exitpriority=10)
            # ... and then, later at exit, waited for.
            if not self._join_cancelled:
                self._join_at_exit = _util.Finalize(self._thread, _join_thread, [self._thread], exitpriority=-5)
        self._cond.notify()

    def _run(self) -> None:
        cond, buffer, ring = self._cond, self._buffer, self._ring
        seen = -1  # the put count when the thread last looked
        try:
            while True:
                with cond:
                    while not buffer and not self._closing:
                        cond.wait()
                    if self._drain() and self._closing:
                        return
                    if not buffer:
                        continue
                    head = _length(buffer[0])
                    puts = self._puts
                if not self._closing and puts != seen:
                    # While this process keeps putting, each put moves the backlog itself:
                    # stay out of its way (waking for every freed slot would make the two
                    # threads trade the GIL for every item).  Once it has stopped, feed
                    # every freed slot at once: readers must not wait for this thread.
                    seen = puts
                    time.sleep(_IDLE)
                    continue
                ring.wait_room(head, _WAIT_SLICE)
        except Exception as exc:  # a broken ring: report it at the next put
            self.error = exc
            _util.sub_warning("queue feeder: %s; %d item(s) dropped", exc, len(buffer))

    def close(self) -> None:
        """Let the thread exit once the buffer is written."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()

    def join(self, timeout: float | None = None) -> None:
        """Wait until the thread has written everything and exited."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def cancel_join(self) -> None:
        """Do not wait for the thread at exit (buffered items may then be lost)."""
        self._join_cancelled = True
        if self._join_at_exit is not None:
            self._join_at_exit.cancel()
            self._join_at_exit = None


def _kept(data: bytes | list[Any]) -> bytes | list[bytes]:
    """``data`` in a form that can wait in the backlog: the pieces of a large item stay
    apart (no copy) unless one could change meanwhile (a bytearray, a view)."""
    if isinstance(data, bytes) or all(type(piece) is bytes for piece in data):
        return data
    return b"".join(data)


def _length(data: bytes | list[bytes]) -> int:
    return len(data) if isinstance(data, bytes) else sum(len(piece) for piece in data)


def _join_thread(thread: threading.Thread) -> None:
    _util.debug("joining queue feeder thread")
    thread.join()
