"""Starting a worker process and the parent's record of it."""

from __future__ import annotations

import collections
import contextlib
import mmap
import os
from typing import Any

from processing_pool._serializers import InitPayload
from processing_pool._wire import PIPE_SIZE, FrameReader, InheritedFd
from processing_pool._worker import worker_main

try:  # descriptors a child forked by processing_core closes at once
    from processing_core._process import _parent_side_fds
except ImportError:  # pragma: no cover - only while core is incomplete
    _parent_side_fds = set()


class WorkerSlot:
    """The parent's view of one worker: its process, pipes and the tasks it holds."""

    def __init__(self, process: Any, task_fd: int, result_fd: int, progress: memoryview | None) -> None:
        self.process = process
        # A word the worker shares with us: how many tasks it has started.
        self._progress = progress
        self.task_fd = task_fd
        self.result_fd = result_fd
        self.reader = FrameReader()
        self.outbuf = bytearray()
        self.task_pipe_size = PIPE_SIZE
        # [job, index, last-of-its-batch, sequence number, payload] for every task sent and
        # not yet answered, in order.
        self.inflight: collections.deque[list[Any]] = collections.deque()
        self.batches = 0
        self.dispatched = 0
        self.ready = False
        self.retiring = False
        self.deadline: float | None = None
        self.killed = False
        self.timed_out = False
        self.init_error: BaseException | None = None
        self.result_registered = False
        self.write_registered = False

    def started(self) -> int | None:
        """How many tasks the worker has begun, if it shares that with us."""
        return None if self._progress is None else int(self._progress[0])

    def close_fds(self) -> None:
        """Close the parent's ends of this worker's pipes."""
        for fd in (self.task_fd, self.result_fd):
            _parent_side_fds.discard(fd)
            with contextlib.suppress(OSError):
                os.close(fd)
        self.task_fd = self.result_fd = -1


def start_worker(
    context: Any,
    number: int,
    serializer_name: str,
    init_payload: InitPayload,
    *,
    flush_each: bool,
    report_memory: bool,
) -> WorkerSlot:
    """Start worker ``number`` with its own task and result pipes; return its record."""
    progress_fd, progress = _shared_counter()
    task_r, task_w = os.pipe()
    result_r, result_w = os.pipe()
    _parent_side_fds.update((task_w, result_r))
    try:
        process = context.Process(
            target=worker_main,
            args=(
                InheritedFd(task_r),
                InheritedFd(result_w),
                None if progress_fd is None else InheritedFd(progress_fd),
                serializer_name,
                init_payload,
                flush_each,
                report_memory,
            ),
            name=f"PoolWorker-{number}",
        )
        process.start()
    except BaseException:
        for fd in (task_w, result_r):
            _parent_side_fds.discard(fd)
            os.close(fd)
        raise
    finally:
        os.close(task_r)
        os.close(result_w)
        if progress_fd is not None:
            os.close(progress_fd)
    os.set_blocking(task_w, False)
    os.set_blocking(result_r, False)
    return WorkerSlot(process, task_w, result_r, progress)


def _shared_counter() -> tuple[int | None, memoryview | None]:
    """An 8-byte anonymous shared memory file (Linux memfd) and our view of it as one word.

    Anonymous: nothing appears in /dev/shm, and it goes when the last user closes it.
    Where memfd does not exist, a worker's death fails every task it held instead.
    """
    create = getattr(os, "memfd_create", None)
    if create is None:
        return None, None
    fd = create("processing-pool-worker")
    try:
        os.ftruncate(fd, 8)
        mapping = mmap.mmap(fd, 8)
    except OSError:
        os.close(fd)
        return None, None
    return fd, memoryview(mapping).cast("Q")
