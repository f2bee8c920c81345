"""The seam between a pool's API and whatever runs its tasks.

:class:`~processing_pool._base.BasePool` turns calls into *tasks* (see
:mod:`processing_pool._chunking`) and hands them to a :class:`Backend`.  The backend
runs each task somewhere (local processes, threads, or a cluster) and reports it back
with ``job._chunk_done(index, ok, value, seconds)``.  A new backend (for example one on
Dask) implements this protocol and nothing else.
"""

from __future__ import annotations

import threading
from typing import Any, Protocol

from processing_pool._chunking import Task


class Backend(Protocol):
    """What a pool needs from the thing that runs its tasks."""

    @property
    def size(self) -> int:
        """How many tasks can run at once (used to size chunks)."""
        ...

    def submit(self, tasks: list[Task]) -> None:
        """Accept tasks to run; raise ``ValueError`` if the backend no longer accepts work."""
        ...

    def close(self) -> None:
        """Finish every task (and every open lazy job), then release the workers."""
        ...

    def terminate(self) -> None:
        """Stop at once; tasks not finished fail.  Must not hang."""
        ...

    def join(self) -> None:
        """Wait until the workers are gone (after ``close`` or ``terminate``)."""
        ...

    def wake(self) -> None:
        """Re-check whether a closing backend may now let its workers go."""
        ...


class OpenJobs:
    """The lazily fed jobs (``imap``) still open: a closing backend waits for them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: dict[int, Any] = {}
        self.backend: Backend | None = None

    def add(self, job: Any, feeder: Any) -> None:
        """Count ``job`` (fed by ``feeder``) as open."""
        with self._lock:
            self._jobs[id(job)] = feeder

    def feeders(self) -> list[Any]:
        """The feeders of the jobs still open."""
        with self._lock:
            return list(self._jobs.values())

    def done(self, job: Any) -> None:
        """``job`` has read all its input and every chunk of it has finished."""
        with self._lock:
            self._jobs.pop(id(job), None)
            empty = not self._jobs
        if empty and self.backend is not None:
            self.backend.wake()

    def __bool__(self) -> bool:
        return bool(self._jobs)
