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

from processing_pool._chunking import run_task
from processing_pool._errors import ExceptionWithTraceback, RemoteError, SerializationError, format_traceback
from processing_pool._serializers import Serializer, get_serializer
from processing_pool._wire import FrameReader, InheritedFd, encode, read_frame, write_all

# Frames from a worker: (kind, payload).
READY, RESULTS, INIT_FAILED = 0, 1, 2
FLUSH_AFTER_SECONDS = 0.005
SEND_AT_ONCE_AFTER = 0.001
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


def run_payload(
    payload: tuple[bytes, bool, bytes], serializer: Serializer, functions: dict[bytes, Any]
) -> tuple[bool, bytes, float]:
    """Run one pickled task; return (ok, pickled value or exception, seconds of work).

    ``payload`` is (pickled function, whether it may be cached, pickled (mode, items)).
    """
    started = time.perf_counter()
    function_bytes, cacheable, call_bytes = payload
    try:
        func = functions.get(function_bytes) if cacheable else None
        if func is None:
            func = serializer.loads(function_bytes)
            if cacheable:
                if len(functions) >= FUNCTION_CACHE_SIZE:
                    functions.clear()
                functions[function_bytes] = func
        mode, items = serializer.loads(call_bytes)
    except Exception as exc:
        error = SerializationError(f"the task could not be unpickled in the worker: {type(exc).__name__}: {exc}")
        error.__cause__ = exc
        return False, _exception_payload(error, serializer), 0.0
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


def worker_main(  # noqa: PLR0917 - Process calls its target with positional args
    task_pipe: InheritedFd,
    result_pipe: InheritedFd,
    progress_file: InheritedFd | None,
    serializer_name: str,
    init_payload: bytes | None,
    flush_each: bool,
    report_memory: bool,
) -> None:
    """Serve tasks until told to stop or the parent goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    task_fd, result_fd = task_pipe.fd, result_pipe.fd
    os.set_blocking(task_fd, True)
    os.set_blocking(result_fd, True)
    serializer = get_serializer(serializer_name)

    def send(kind: int, payload: Any) -> None:
        write_all(result_fd, encode(serializer.dumps((kind, payload))))

    if init_payload is not None:
        try:
            initializer, initargs = serializer.loads(init_payload)
            initializer(*initargs)
        except Exception as exc:
            send(INIT_FAILED, _exception_payload(exc, serializer))
            return
    send(READY, os.getpid())
    # The number of tasks begun, in a word shared with the parent: should this worker
    # die, the parent runs again the tasks it had not begun, and fails only the others.
    started = _shared_counter(progress_file)
    begun = 0
    functions: dict[bytes, Any] = {}
    reader = FrameReader()
    pending: list[bytes] = []
    loads = serializer.loads
    while True:
        frame = read_frame(task_fd, reader, pending)
        if frame is None:
            return  # the parent is gone
        batch = loads(frame)
        if batch is None:
            return  # told to stop
        results = []
        last_flush = time.perf_counter()
        for payload in batch:
            begun += 1
            if started is not None:
                started[0] = begun
            outcome = run_payload(payload, serializer, functions)
            results.append(outcome)
            # Send at once after a task that took a while (the write is noise next to it),
            # so that a later crash cannot take its result along.
            if flush_each or outcome[2] > SEND_AT_ONCE_AFTER or time.perf_counter() - last_flush > FLUSH_AFTER_SECONDS:
                send(RESULTS, (results, _resident_bytes() if report_memory else 0))
                results = []
                last_flush = time.perf_counter()
        if results:
            send(RESULTS, (results, _resident_bytes() if report_memory else 0))
        del batch, results
