"""The process backend: worker processes watched by one supervisor thread.

The supervisor waits on three kinds of descriptors at once: a wake-up pipe (new
work, close, terminate), every worker's result pipe, and every worker's sentinel
(readable when the worker exits).  It hands batches of tasks to workers over one
pipe each and remembers, per worker, the tasks it holds, in order: results come back
in that order, so when a worker dies exactly its unfinished tasks fail with
:class:`~processing_pool.WorkerLostError` and a replacement starts.
"""

from __future__ import annotations

import collections
import contextlib
import os
import selectors
import threading
import time
from typing import Any

from processing_core._errors import ProcessError, TimeoutError

from processing_pool._backend import OpenJobs
from processing_pool._batches import STOP_BODY, BatchEncoder
from processing_pool._chunking import Task
from processing_pool._errors import SerializationError, WorkerLostError
from processing_pool._pacing import Pacing
from processing_pool._serializers import InitPayload, Serializer
from processing_pool._wire import drain_nonblocking, encode, fit_pipe
from processing_pool._worker import INIT_FAILED, READY, REJECTED, RESULTS
from processing_pool._workers import WorkerSlot, _parent_side_fds, start_worker

# Bumped in every forked child: submit() tells a child from the pool's own process by
# this count, without a getpid() system call per task.
_forks = [0]
os.register_at_fork(after_in_child=lambda: _forks.__setitem__(0, _forks[0] + 1))

WAKE, RESULT, SENTINEL, WRITABLE = 0, 1, 2, 3
MAX_BATCH_BYTES = 4 << 20
STOP_FRAME = encode(STOP_BODY)
TERMINATE_GRACE_SECONDS = 1.0
WAKE_READ_SIZE = 4096


class ProcessBackend:
    """Runs tasks in worker processes; see the module docstring."""

    def __init__(
        self,
        size: int,
        *,
        context: Any,
        serializer: Serializer,
        init_payload: InitPayload,
        maxtasksperchild: int | None,
        task_timeout: float | None,
        max_memory_per_child: int | None,
        open_jobs: OpenJobs,
    ) -> None:
        self._size = size
        self._context = context
        self._serializer = serializer
        self._dumps = serializer.dumps
        self._init_payload = init_payload
        self._maxtasks = maxtasksperchild
        self._task_timeout = task_timeout
        self._max_memory = max_memory_per_child
        self._open_jobs = open_jobs
        self._lock = threading.Lock()
        # (job, index, (func, mode, items), whether to pickle it alone)
        self._pending: collections.deque[tuple[Any, int, Any, bool]] = collections.deque()
        self._encoder = BatchEncoder(serializer)
        self._closing = False
        self._terminating = False
        self._finished = False
        self._wake_pending = False
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_r, False)
        os.set_blocking(self._wake_w, False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_r, selectors.EVENT_READ, (WAKE, None))
        self._slots: list[WorkerSlot] = []
        self._pacing = Pacing(size, task_timeout)
        self._numbers = iter(range(1, 1 << 62))
        self._owner_generation = _forks[0]
        _parent_side_fds.update((self._wake_r, self._wake_w))
        try:
            for _ in range(size):
                self._start_worker()
        except BaseException:
            self._shutdown()  # the workers started so far must not outlive a failed start
            raise
        self._thread = threading.Thread(target=self._run, name="PoolSupervisor", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------ user threads

    @property
    def size(self) -> int:
        """The number of worker processes."""
        return self._size

    def submit(self, tasks: list[Task]) -> None:
        """Queue tasks for the supervisor, which pickles them a batch at a time."""
        if _forks[0] != self._owner_generation:
            raise RuntimeError("a pool can only be used by the process that created it, not by a child")
        if len(tasks) == 1:  # apply_async: no list to build
            job, index, func, mode, items = tasks[0]
            entries: Any = ((job, index, (func, mode, items), False),)
        else:
            entries = [(job, index, (func, mode, items), False) for job, index, func, mode, items in tasks]
        with self._lock:
            if self._terminating or self._finished:
                raise ValueError("Pool not running: it was terminated")
            self._pending.extend(entries)
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            self._wake()

    def wake(self) -> None:
        """Make the supervisor look at its state again."""
        with self._lock:
            self._wake_pending = True
        self._wake()

    def close(self) -> None:
        """Finish the queued work, then stop the workers."""
        with self._lock:
            self._closing = True
        self.wake()

    def terminate(self) -> None:
        """Stop every worker now and fail what is unfinished; wait for the supervisor."""
        with self._lock:
            if self._finished:
                return
            self._terminating = True
        self.wake()
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def join(self) -> None:
        """Wait until the supervisor has stopped every worker."""
        if threading.current_thread() is not self._thread:
            self._thread.join()

    def _wake(self) -> None:
        # Full: the supervisor has wake-ups waiting already; closed: it is gone.
        with contextlib.suppress(OSError):
            os.write(self._wake_w, b"\0")

    # ------------------------------------------------------- supervisor thread

    def _run(self) -> None:
        try:
            while self._step():
                pass
        finally:
            self._shutdown()

    def _step(self) -> bool:
        """One round of the supervisor; return False when it is time to stop."""
        if self._terminating:
            return False
        self._dispatch()
        for key, _mask in self._selector.select(self._select_timeout()):
            kind, slot = key.data
            if kind == WAKE:
                self._drain_wake()
            elif kind == RESULT:
                self._read_results(slot)
            elif kind == SENTINEL:
                self._worker_exited(slot)
            else:
                self._flush(slot)
        self._check_deadlines()
        return not self._closing or self._close_progress()

    def _drain_wake(self) -> None:
        # Drain first, then clear the flag: a wake-up written in between stays in the pipe
        # (one spare round), where clearing first could eat it and leave the flag set for good.
        # A short read found the pipe empty: no second read just to be told so.
        try:
            while len(os.read(self._wake_r, WAKE_READ_SIZE)) == WAKE_READ_SIZE:
                pass
        except BlockingIOError:
            pass
        with self._lock:
            self._wake_pending = False

    def _select_timeout(self) -> float | None:
        deadlines = [slot.deadline for slot in self._slots if slot.deadline is not None and not slot.killed]
        if not deadlines:
            return None
        return max(0.0, min(deadlines) - time.monotonic())

    # -------------------------------------------------------------- dispatch

    def _dispatch(self) -> None:
        pending = self._pending
        if not pending:
            return
        if len(self._slots) < self._size and not self._closing_done():
            while len(self._slots) < self._size:
                self._start_worker()
        ready = [slot for slot in self._slots if slot.ready and not slot.retiring]
        if not ready:
            return
        # Fewest tasks in flight first, and in rounds: every worker gets its first batch
        # before any gets a second, or a short queue would all go to one worker.
        ready.sort(key=lambda slot: len(slot.inflight))
        for level in range(2):  # a batch running and, at most, one sent ahead
            for slot in ready:
                if not pending:
                    return
                if slot.batches > level or slot.retiring:
                    continue
                if level and not self._pacing.may_send_ahead(pending[0][2][0], len(pending)):
                    return
                self._send_batch(slot)
                # At once: the worker starts while the next batch is pickled.
                self._flush(slot)

    def _send_batch(self, slot: WorkerSlot) -> None:
        pending = self._pending
        count = self._pacing.batch_size(pending[0][2][0], len(pending))
        if self._maxtasks is not None:
            count = min(count, self._maxtasks - slot.dispatched)
        alone = pending[0][3]
        chosen: list[Any] = []
        while pending and len(chosen) < count and pending[0][3] == alone:
            chosen.append(pending.popleft())
        body, chosen = self._encode(chosen, alone)
        if not chosen:
            return
        inflight = slot.inflight
        for sequence, (job, index, task, _alone) in enumerate(chosen, slot.dispatched):
            inflight.append([job, index, False, sequence, task])
        inflight[-1][2] = True  # the last task of a batch
        slot.outbuf += encode(body)
        slot.task_pipe_size = fit_pipe(slot.task_fd, len(slot.outbuf), slot.task_pipe_size)
        slot.batches += 1
        slot.dispatched += len(chosen)
        if self._task_timeout is not None and slot.deadline is None:
            slot.deadline = time.monotonic() + self._task_timeout
        if self._maxtasks is not None and slot.dispatched >= self._maxtasks:
            self._retire(slot)

    def _encode(self, chosen: list[Any], alone: bool) -> tuple[bytes, list[Any]]:
        """Pickle a batch; fail the tasks that cannot be pickled; return the body and the rest."""
        encoder = self._encoder
        if not alone:
            try:
                return encoder.whole([entry[2] for entry in chosen]), chosen
            except Exception:
                pass
        good = []
        for entry in chosen:
            try:
                encoder.check(entry[2])
            except Exception as exc:
                error = SerializationError(f"the task could not be pickled: {type(exc).__name__}: {exc}")
                error.__cause__ = exc
                entry[0]._chunk_done(entry[1], False, error)
            else:
                good.append(entry)
        if not good:
            return b"", good
        return encoder.each([entry[2] for entry in good]), good

    def _flush(self, slot: WorkerSlot) -> None:
        if slot.outbuf:
            try:
                written = os.write(slot.task_fd, slot.outbuf)
            except BlockingIOError:
                written = 0
            except OSError:  # the worker is gone; its sentinel will say so
                slot.outbuf.clear()
                written = 0
            if written:
                del slot.outbuf[:written]
        want_write = bool(slot.outbuf)
        if want_write != slot.write_registered:
            if want_write:
                self._selector.register(slot.task_fd, selectors.EVENT_WRITE, (WRITABLE, slot))
            else:
                self._selector.unregister(slot.task_fd)
            slot.write_registered = want_write

    def _retire(self, slot: WorkerSlot) -> None:
        """Send no more work to ``slot``: it exits after what it holds (a replacement follows)."""
        if not slot.retiring:
            slot.retiring = True
            slot.outbuf += STOP_FRAME
            self._flush(slot)

    # --------------------------------------------------------------- results

    def _read_results(self, slot: WorkerSlot) -> None:
        frames, eof = drain_nonblocking(slot.result_fd, slot.reader)
        for frame in frames:
            self._handle_frame(slot, frame)
        if eof and slot.result_registered:
            self._selector.unregister(slot.result_fd)
            slot.result_registered = False

    def _handle_frame(self, slot: WorkerSlot, frame: bytes) -> None:
        loads = self._serializer.loads
        kind, payload = loads(frame)
        if kind == RESULTS:
            self._take_results(slot, *payload)
        elif kind == REJECTED:
            # The worker could not unpickle a whole batch: it comes again task by task.
            returned = [slot.inflight.popleft() for _ in range(payload)]
            slot.batches -= 1
            with self._lock:
                self._pending.extendleft((job, index, task, True) for job, index, _e, _s, task in reversed(returned))
        elif kind == READY:
            slot.ready = True
        elif kind == INIT_FAILED:
            try:
                slot.init_error = loads(payload)
            except Exception as exc:
                slot.init_error = exc

    def _take_results(self, slot: WorkerSlot, entries: list[tuple[bool, bytes, float]], resident: int) -> None:
        """Settle the tasks a RESULTS frame answers, oldest first, and learn their timings."""
        loads = self._serializer.loads
        inflight = slot.inflight
        # One timing per run of tasks of the same function: a frame holds up to a batch.
        timed: Any = None
        total = 0.0
        count = 0
        for sent_ok, data, seconds in entries:
            ok = sent_ok
            job, index, batch_end, _sequence, task = inflight.popleft()
            if task[0] is not timed:
                if count:
                    self._pacing.record(timed, total / count)
                timed, total, count = task[0], 0.0, 0
            total += seconds
            count += 1
            if batch_end:
                slot.batches -= 1
            try:
                value = loads(data)
            except Exception as exc:
                what = "result" if ok else "exception"
                value = SerializationError(f"the {what} could not be unpickled: {type(exc).__name__}: {exc}")
                value.__cause__ = exc
                ok = False
            job._chunk_done(index, ok, value, seconds)
        if count:
            self._pacing.record(timed, total / count)
        if self._task_timeout is not None:
            slot.deadline = time.monotonic() + self._task_timeout if inflight else None
        if self._max_memory is not None and resident > self._max_memory:
            self._retire(slot)

    def _check_deadlines(self) -> None:
        if self._task_timeout is None:
            return
        now = time.monotonic()
        for slot in self._slots:
            if slot.deadline is not None and not slot.killed and now >= slot.deadline:
                slot.killed = True
                slot.timed_out = True
                slot.process.kill()

    # --------------------------------------------------------- worker exits

    def _start_worker(self) -> None:
        slot = start_worker(
            self._context,
            next(self._numbers),
            self._serializer.name,
            self._init_payload,
            flush_each=self._task_timeout is not None,
            report_memory=self._max_memory is not None,
        )
        self._slots.append(slot)
        self._selector.register(slot.result_fd, selectors.EVENT_READ, (RESULT, slot))
        slot.result_registered = True
        self._selector.register(slot.process.sentinel, selectors.EVENT_READ, (SENTINEL, slot))

    def _worker_exited(self, slot: WorkerSlot) -> None:
        if slot.result_registered:
            self._read_results(slot)  # what it sent before it died still counts
        self._selector.unregister(slot.process.sentinel)
        self._release(slot)
        slot.process.join(TERMINATE_GRACE_SECONDS)
        exitcode = slot.process.exitcode
        self._slots.remove(slot)
        self._settle_lost_tasks(slot, exitcode)
        if slot.init_error is not None:
            self._fail_pending(slot.init_error, "a pool worker's initializer raised")
            return  # the next submit starts a worker again; no restart loop meanwhile
        if not self._terminating and not self._closing_done():
            self._start_worker()

    def _settle_lost_tasks(self, slot: WorkerSlot, exitcode: int | None) -> None:
        """Fail the task a dead worker was running; queue again those it had not started."""
        started = slot.started()  # how many tasks it began, or None if it cannot tell
        never_started = []
        for job, index, _end, sequence, payload in slot.inflight:
            error: BaseException
            if started is not None and sequence >= started:
                # Pickled alone next time: had it died unpickling the batch, only the
                # task at fault will die again.
                never_started.append((job, index, payload, True))
                continue
            if started is not None and sequence < started - 1:
                error = WorkerLostError(exitcode, "the task had finished, but its result was lost with the worker")
            elif slot.timed_out:
                error = TimeoutError(f"the task ran longer than task_timeout={self._task_timeout} seconds")
            else:
                error = WorkerLostError(exitcode)
            job._chunk_done(index, False, error)
        slot.inflight.clear()
        if never_started:
            with self._lock:
                self._pending.extendleft(reversed(never_started))

    def _release(self, slot: WorkerSlot) -> None:
        if slot.result_registered:
            self._selector.unregister(slot.result_fd)
            slot.result_registered = False
        if slot.write_registered:
            self._selector.unregister(slot.task_fd)
            slot.write_registered = False
        slot.close_fds()

    def _fail_pending(self, cause: BaseException, message: str) -> None:
        with self._lock:
            dropped = list(self._pending)
            self._pending.clear()
        for job, index, *_rest in dropped:
            error = ProcessError(message)
            error.__cause__ = cause
            job._chunk_done(index, False, error)

    # ---------------------------------------------------------------- closing

    def _closing_done(self) -> bool:
        """Whether a closing pool has nothing left to run."""
        return (
            self._closing
            and not self._pending
            and not self._open_jobs
            and not any(slot.inflight for slot in self._slots)
        )

    def _close_progress(self) -> bool:
        """While closing: stop idle workers once all is done; return False when none is left."""
        if self._closing_done():
            for slot in self._slots:
                self._retire(slot)
            return bool(self._slots)
        return True

    def _shutdown(self) -> None:
        """Stop every worker still alive, fail what is unfinished, release everything."""
        for slot in self._slots:
            slot.process.terminate()
        deadline = time.monotonic() + TERMINATE_GRACE_SECONDS
        for slot in self._slots:
            slot.process.join(max(0.0, deadline - time.monotonic()))
            if slot.process.exitcode is None:
                slot.process.kill()
                slot.process.join()
        with self._lock:
            self._finished = True
        stopped = ProcessError("the pool was terminated before this task finished")
        for slot in self._slots:
            self._release(slot)
            for job, index, *_rest in slot.inflight:
                job._chunk_done(index, False, ProcessError(*stopped.args))
        self._slots.clear()
        self._fail_pending(stopped, "the pool was terminated before this task ran")
        self._selector.close()
        for fd in (self._wake_r, self._wake_w):
            _parent_side_fds.discard(fd)
            os.close(fd)
