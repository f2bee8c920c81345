"""Starting a worker process and the parent's record of it."""

from __future__ import annotations

import collections
import contextlib
import os
from typing import Any

from processing_pool._wire import FrameReader, InheritedFd
from processing_pool._worker import worker_main

try:  # descriptors a child forked by processing_core closes at once
    from processing_core._process import _parent_side_fds
except ImportError:  # pragma: no cover - only while core is incomplete
    _parent_side_fds = set()


class WorkerSlot:
    """The parent's view of one worker: its process, pipes and the tasks it holds."""

    def __init__(self, process: Any, task_fd: int, result_fd: int) -> None:
        self.process = process
        self.task_fd = task_fd
        self.result_fd = result_fd
        self.reader = FrameReader()
        self.outbuf = bytearray()
        # [job, index, last-of-its-batch] for every task sent and not yet answered, in order.
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
    init_payload: bytes | None,
    *,
    flush_each: bool,
    report_memory: bool,
) -> WorkerSlot:
    """Start worker ``number`` with its own task and result pipes; return its record."""
    task_r, task_w = os.pipe()
    result_r, result_w = os.pipe()
    _parent_side_fds.update((task_w, result_r))
    try:
        process = context.Process(
            target=worker_main,
            args=(
                InheritedFd(task_r),
                InheritedFd(result_w),
                serializer_name,
                init_payload,
                [],
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
    os.set_blocking(task_w, False)
    os.set_blocking(result_r, False)
    return WorkerSlot(process, task_w, result_r)
