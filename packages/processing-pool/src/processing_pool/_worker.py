"""The loop a pool's worker process runs.

It reads batches of tasks from its own pipe, runs them one after the other and writes
the results back on its own result pipe, in order, so the parent always knows which
tasks a worker still holds.  Results are sent when a batch ends, or sooner when the
batch has been running for a while.  The worker ignores SIGINT: Ctrl-C is the
parent's to handle.
"""

from __future__ import annotations

import mmap
import os
import signal
import time
from typing import Any

from processing_pool._batches import EACH, HEADER, STOP, WHOLE
from processing_pool._chunking import run_task
from processing_pool._errors import ExceptionWithTraceback, RemoteError, SerializationError, format_traceback
from processing_pool._serializers import InitPayload, Serializer, get_serializer
from processing_pool._wire import PIPE_SIZE, FrameReader, InheritedFd, encode, fit_pipe, read_frame, write_all

# Frames from a worker: (kind, payload).
READY, RESULTS, INIT_FAILED, REJECTED = 0, 1, 2, 3
FLUSH_AFTER_SECONDS = 0.005
SEND_AT_ONCE_AFTER = 0.001
SEND_AT_ONCE_BYTES = 32 << 10
RESULT_FRAMES_AHEAD = 4
FUNCTION_CACHE_SIZE = 1024


def _resident_bytes() -> int:
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _exception_payload(exc: BaseException, serializer: Serializer) -> bytes:
    """Pickle ``exc`` with its traceback; fall back to a RemoteError if it does not round-trip."""
    text = format_traceback(exc)
    try:
        payload = serializer.dumps(ExceptionWithTraceback(exc, text))
        serializer.loads(payload)
        return payload
    except Exception as problem:
        message = f"{exc}" if str(exc) else repr(exc)
        replacement = RemoteError(f"{type(exc).__module__}.{type(exc).__qualname__}", message)
        detail = f"{text}\nIt could not be sent back as itself: {type(problem).__name__}: {problem}\n"
        return serializer.dumps(ExceptionWithTraceback(replacement, detail))


def unpickle_payload(payload: tuple[bytes, bool, bytes], serializer: Serializer, functions: dict[bytes, Any]) -> Any:
    """Return ``(func, mode, items)`` from a task pickled alone (see ``_batches.EACH``)."""
    function_bytes, cacheable, call_bytes = payload
    func = functions.get(function_bytes) if cacheable else None
    if func is None:
        func = serializer.loads(function_bytes)
        if cacheable:
            if len(functions) >= FUNCTION_CACHE_SIZE:
                functions.clear()
            functions[function_bytes] = func
    mode, items = serializer.loads(call_bytes)
    return func, mode, items


def run_payload(
    payload: tuple[bytes, bool, bytes], serializer: Serializer, functions: dict[bytes, Any]
) -> tuple[bool, bytes, float]:
    """Unpickle and run a task pickled alone; see :func:`run_call`."""
    try:
        func, mode, items = unpickle_payload(payload, serializer, functions)
    except Exception as exc:
        error = SerializationError(f"the task could not be unpickled in the worker: {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return False, _exception_payload(error, serializer), 0.0
    return run_call(func, mode, items, serializer)


def run_call(func: Any, mode: int, items: Any, serializer: Serializer) -> tuple[bool, bytes, float]:
    """Run one task; return (ok, pickled value or exception, seconds of work)."""
    started = time.perf_counter()
    try:
        value = run_task(func, mode, items)
    except Exception as exc:
        return False, _exception_payload(exc, serializer), time.perf_counter() - started
    seconds = time.perf_counter() - started
    try:
        return True, serializer.dumps(value), seconds
    except Exception as exc:
        error = SerializationError(f"the result could not be pickled: {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return False, _exception_payload(error, serializer), seconds


def _shared_counter(progress_file: InheritedFd | None) -> memoryview | None:
    if progress_file is None:
        return None
    mapping = mmap.mmap(progress_file.fd, 8)
    os.close(progress_file.fd)
    return memoryview(mapping).cast("Q")


class _Results:
    """Sends results to the parent: in groups for tiny tasks, at once after slow ones."""

    def __init__(self, send: Any, flush_each: bool, report_memory: bool) -> None:
        self._send = send
        self._flush_each = flush_each
        self._report_memory = report_memory
        self._pending: list[tuple[bool, bytes, float]] = []
        self._pending_bytes = 0
        self._last = time.perf_counter()

    def add(self, outcome: tuple[bool, bytes, float], *, at_once: bool = False) -> None:
        self._pending.append(outcome)
        self._pending_bytes += len(outcome[1])
        # A write is noise next to a task that took a while, or next to copying a large
        # result: sending at once lets the parent unpickle it while this worker goes on
        # (rather than all of a batch's results at its end), and a later crash cannot
        # take it along.
        if (
            at_once
            or self._flush_each
            or outcome[2] > SEND_AT_ONCE_AFTER
            or self._pending_bytes >= SEND_AT_ONCE_BYTES
            or time.perf_counter() - self._last > FLUSH_AFTER_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._send(RESULTS, (self._pending, _resident_bytes() if self._report_memory else 0))
            self._pending = []
            self._pending_bytes = 0
        self._last = time.perf_counter()


def worker_main(
    task_pipe: InheritedFd,
    result_pipe: InheritedFd,
    progress_file: InheritedFd | None,
    serializer_name: str,
    init_payload: InitPayload,
    flush_each: bool,
    report_memory: bool,
) -> None:
    """Serve tasks until told to stop or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    task_fd, result_fd = task_pipe.fd, result_pipe.fd
    os.set_blocking(task_fd, True)
    os.set_blocking(result_fd, True)
    serializer = get_serializer(serializer_name)

    pipe_size = PIPE_SIZE

    def send(kind: int, payload: Any) -> None:
        nonlocal pipe_size
        frame = encode(serializer.dumps((kind, payload)))
        # A pipe that cannot hold a few such frames blocks this worker until the parent,
        # busy pickling for the other workers, comes round to read.
        pipe_size = fit_pipe(result_fd, RESULT_FRAMES_AHEAD * len(frame), pipe_size)
        write_all(result_fd, frame)

    if init_payload is not None:
        try:
            if isinstance(init_payload, bytes):
                initializer, initargs = serializer.loads(init_payload)
            else:
                initializer, initargs = init_payload
            initializer(*initargs)
        except Exception as exc:
            send(INIT_FAILED, _exception_payload(exc, serializer))
            return
    send(READY, os.getpid())
    _serve(task_fd, send, serializer, _shared_counter(progress_file), _Results(send, flush_each, report_memory))


def _serve(task_fd: int, send: Any, serializer: Serializer, started: memoryview | None, results: _Results) -> None:
    # ``started`` is a word shared with the parent: how many tasks this worker has begun.
    # Should it die, the parent runs again the tasks it had not begun and fails the others.
    begun = 0
    functions: dict[bytes, Any] = {}
    reader = FrameReader()
    pending: list[bytes] = []
    loads = serializer.loads
    while True:
        frame = read_frame(task_fd, reader, pending)
        if frame is None:
            return  # the parent is gone
        kind, count = HEADER.unpack_from(frame)
        if kind == STOP:
            return
        try:
            batch = loads(memoryview(frame)[HEADER.size :])
        except Exception:
            if kind == EACH:
                raise  # a list of bytes always unpickles: the frame itself is damaged
            # Something in the batch does not unpickle here: hand it back, to come again
            # task by task so that only the task at fault fails.
            begun += count
            if started is not None:
                started[0] = begun
            send(REJECTED, count)
            continue
        for task in batch:
            begun += 1
            if started is not None:
                started[0] = begun
            if kind == WHOLE:
                func, mode, items = task
                results.add(run_call(func, mode, items, serializer))
            else:
                # Tasks come one by one after trouble: report each at once, so that a
                # task that kills this worker takes no finished result along.
                results.add(run_payload(task, serializer, functions), at_once=True)
        results.flush()
        batch = task = func = items = None  # hold no task between batches
