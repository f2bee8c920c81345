"""The Dask backend: a pool's tasks run on a Dask cluster (``Pool(backend="dask")``).

Tasks are grouped into Dask tasks: while the cluster has free slots each task travels
alone (slow tasks run side by side), and once it is busy the tasks waiting are sent
together, up to about :data:`TARGET_GROUP_SECONDS` of measured work per group, so that
tiny tasks are not paid one scheduler round trip each.  A group is pickled by this
process (cloudpickle) and its outcomes are pickled by the worker, so a task that does not
pickle fails alone with :class:`~processing_pool.SerializationError`, as on local
processes.  One thread per pool (``DaskPoolCollector``) submits groups and settles the
finished ones, fetching the results of all groups done at once in one ``gather``.

``distributed`` is imported only when a Dask pool is made: it is an optional extra.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import os
import pickle
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from processing_core._errors import ProcessError

from processing_pool._backend import OpenJobs
from processing_pool._batches import EACH, HEADER, WHOLE, BatchEncoder
from processing_pool._chunking import Task
from processing_pool._errors import SerializationError, WorkerLostError, with_cause
from processing_pool._serializers import Serializer, get_serializer
from processing_pool._worker import run_call, run_payload

EXTRA_HINT = "pip install 'processing-pool[dask]'"
SERIALIZER = "cloudpickle"  # what Dask itself uses for tasks: lambdas and __main__ functions travel
TARGET_GROUP_SECONDS = 0.05
FIRST_GROUP_TASKS = 16  # before any task has been timed
MAX_GROUP_TASKS = 8192
GROUPS_IN_FLIGHT_PER_SLOT = 4
CLOSE_TIMEOUT_SECONDS = 10.0
# What a Dask future may raise: asyncio's CancelledError (a cluster gone) is no Exception.
FAILURES = (Exception, asyncio.CancelledError)

# Functions a worker has unpickled, by their pickled bytes (shared by the worker's threads).
_worker_functions: dict[bytes, Any] = {}


def import_distributed() -> Any:
    """Import and return ``distributed``, or raise an ImportError naming the extra to install."""
    try:
        import distributed  # type: ignore[import-untyped,import-not-found,unused-ignore]
    except ImportError as exc:
        raise ImportError(f"backend='dask' needs the distributed package: {EXTRA_HINT}") from exc
    return distributed


def _dumps_result(obj: Any) -> bytes:
    # The standard pickler is several times faster than cloudpickle on plain data; what it
    # cannot send by name (classes and functions made in the worker) goes by cloudpickle.
    try:
        return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)
    except Exception:
        return get_serializer(SERIALIZER).dumps(obj)


RESULTS = Serializer("dask-results", _dumps_result, pickle.loads)


def run_group(frame: bytes) -> bytes | None:
    """Run a group of tasks in a Dask worker; return the pickled list of their outcomes.

    Each outcome is ``(ok, pickled value, seconds)``.  The list travels as one ``bytes``:
    Dask would otherwise serialize its items one by one, far more slowly.  Returns
    ``None`` when a group pickled whole does not unpickle here: the pool then sends its
    tasks again one by one, so that only the task at fault fails.
    """
    kind, _count = HEADER.unpack_from(frame)
    body = memoryview(frame)[HEADER.size :]
    if kind == EACH:
        payloads = pickle.loads(body)
        outcomes = [run_payload(payload, RESULTS, _worker_functions) for payload in payloads]
    else:
        try:
            tasks = pickle.loads(body)
        except Exception:
            return None
        outcomes = [run_call(func, mode, items, RESULTS) for func, mode, items in tasks]
    return pickle.dumps(outcomes, pickle.HIGHEST_PROTOCOL)


class DaskBackend:
    """Runs a pool's tasks on a Dask cluster: ``Pool(backend=DaskBackend(client))``.

    Args:
        client: a connected ``distributed.Client``; the pool uses it and leaves it open.
        address: the scheduler to connect to (``"tcp://host:8786"``) when no client is
            given; the pool makes its own client and closes it with the pool.
        n_workers: with neither ``client`` nor ``address``, the pool starts a
            ``LocalCluster`` of this many single-threaded worker processes on 127.0.0.1
            (default: the number of CPUs), without a dashboard, and closes it with the pool.

    A backend serves one pool.

    Raises:
        ImportError: ``distributed`` is not installed (``pip install 'processing-pool[dask]'``).
        ValueError: both ``client`` and ``address`` were given, or ``n_workers`` is not positive.
        TypeError: ``client`` is not a ``distributed.Client``, or ``address`` not a string.
    """

    def __init__(self, client: Any = None, *, address: str | None = None, n_workers: int | None = None) -> None:
        distributed = import_distributed()
        if client is not None and address is not None:
            raise ValueError("give a Dask client or a scheduler address, not both")
        if client is not None and not isinstance(client, distributed.Client):
            raise TypeError(f"client must be a distributed.Client, not {type(client).__name__}")
        if address is not None and not isinstance(address, str):
            raise TypeError(f"address must be a scheduler address string, not {type(address).__name__}")
        if n_workers is not None and (not isinstance(n_workers, int) or isinstance(n_workers, bool) or n_workers < 1):
            raise ValueError(f"n_workers must be a positive int or None, not {n_workers!r}")
        self._cluster: Any = None
        self._owns_client = client is None
        if client is None:
            if address is None:
                self._cluster = distributed.LocalCluster(
                    n_workers=n_workers or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    host="127.0.0.1",
                    dashboard_address=None,
                    # No dashboard; the scheduler's small HTTP server (health, metrics) on a
                    # free loopback port rather than 8787, which another cluster may hold.
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                )
                address = self._cluster.scheduler_address
            try:
                client = distributed.Client(address, set_as_default=False)
            except BaseException:
                if self._cluster is not None:
                    self._cluster.close()
                raise
        self._client = client
        self._size = max(1, sum(client.nthreads().values()))
        self._encoder = BatchEncoder(get_serializer(SERIALIZER))
        self._loads = RESULTS.loads
        self._cond = threading.Condition(threading.Lock())
        self._queued: collections.deque[Task] = collections.deque()
        self._resend: list[list[Task]] = []
        self._finished: list[Any] = []
        self._running: dict[str, tuple[Any, list[Task]]] = {}
        self._seconds_per_task: float | None = None
        self._prefix = f"processing-pool-{uuid.uuid4().hex[:12]}"
        self._keys = itertools.count()
        self._closing = False
        self._terminated = False
        self._released = False
        self._release_lock = threading.Lock()
        self._plugin_name: str | None = None
        self._open_jobs: OpenJobs | None = None
        self._thread: threading.Thread | None = None

    # ---------------------------------------------------------- the Backend protocol

    @property
    def size(self) -> int:
        """How many tasks the cluster runs at once (its worker threads when the pool started)."""
        return self._size

    def submit(self, tasks: list[Task]) -> None:
        """Queue tasks for the cluster."""
        with self._cond:
            if self._terminated:
                raise ValueError("Pool not running: it was terminated")
            self._queued.extend(tasks)
            self._cond.notify()

    def wake(self) -> None:
        """Let the collector re-check whether a closing pool may let the cluster go."""
        with self._cond:
            self._cond.notify()

    def close(self) -> None:
        """Release the cluster once every task and every open lazy job is done."""
        with self._cond:
            self._closing = True
            self._cond.notify()

    def terminate(self) -> None:
        """Cancel what has not finished (it fails with ``ProcessError``) and release the cluster."""
        with self._cond:
            self._terminated = self._closing = True
            dropped = list(self._queued) + [task for group in self._resend for task in group]
            futures = []
            for future, tasks in self._running.values():
                futures.append(future)
                dropped.extend(tasks)
            self._queued.clear()
            self._resend.clear()
            self._running.clear()
            self._finished.clear()
            self._cond.notify()
        if futures and not self._owns_client:  # a cluster of our own goes away as a whole
            with contextlib.suppress(Exception):  # the client may already be closed (at exit)
                self._client.cancel(futures, force=True)
        error = ProcessError("the pool was terminated before this task finished")
        for job, index, _func, _mode, _items in dropped:
            job._chunk_done(index, False, error)
        if threading.current_thread() is not self._thread:
            self._release()

    def join(self) -> None:
        """Wait until the pool has let the cluster go."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # ------------------------------------------------------------------ start-up

    def _attach(self, open_jobs: OpenJobs, initializer: Callable[..., object] | None, initargs: Iterable[Any]) -> None:
        """Serve ``open_jobs``'s pool: run ``initializer`` on every worker, start the collector."""
        if self._open_jobs is not None:
            raise ValueError("this DaskBackend already serves a pool: make one backend per pool")
        self._open_jobs = open_jobs
        if initializer is not None:
            from processing_pool._dask_plugin import InitializerPlugin

            name = f"{self._prefix}-initializer"
            try:
                self._client.register_plugin(InitializerPlugin(initializer, tuple(initargs)), name=name)
            except BaseException:
                self._release()
                raise
            self._plugin_name = name
        self._thread = threading.Thread(target=self._collect, name="DaskPoolCollector", daemon=True)
        self._thread.start()

    # --------------------------------------------------------------- the collector

    def _collect(self) -> None:
        try:
            while True:
                with self._cond:
                    while not (
                        (self._queued and self._room() > 0) or self._resend or self._finished or self._may_finish()
                    ):
                        self._cond.wait()
                    if self._terminated or self._may_finish():
                        break
                    groups = self._take_groups()
                    finished, self._finished = self._finished, []
                for tasks, kind in groups:
                    self._send(tasks, kind)
                if finished:
                    self._settle(finished)
        finally:
            self._release()

    def _may_finish(self) -> bool:
        """With the lock held: whether the pool is terminated, or closed with nothing left."""
        if self._terminated:
            return True
        idle = not (self._queued or self._resend or self._running or self._finished)
        return self._closing and idle and not self._open_jobs

    def _room(self) -> int:
        """With the lock held: how many more groups may be in flight now."""
        return GROUPS_IN_FLIGHT_PER_SLOT * self._size - len(self._running)

    def _take_groups(self) -> list[tuple[list[Task], int]]:
        """With the lock held: split what waits into groups to send (see the module docstring)."""
        groups = [(tasks, EACH) for tasks in self._resend]
        self._resend.clear()
        queued = self._queued
        room = self._room() - len(groups)
        if not queued or room <= 0:
            return groups  # the rest waits for a group to finish: its timing sizes the next ones
        if len(queued) <= room:
            cap = 1  # the cluster has room: every task gets a slot of its own
        elif self._seconds_per_task is None:
            cap = min(FIRST_GROUP_TASKS, -(-len(queued) // room))
        else:
            wanted = int(TARGET_GROUP_SECONDS / max(self._seconds_per_task, 1e-7))
            cap = max(1, min(MAX_GROUP_TASKS, wanted, -(-len(queued) // room)))
        for _ in range(room):
            if not queued:
                break
            groups.append(([queued.popleft() for _ in range(min(cap, len(queued)))], WHOLE))
        return groups

    def _send(self, tasks: list[Task], kind: int) -> None:
        calls = [(func, mode, items) for _job, _index, func, mode, items in tasks]
        if kind == WHOLE:
            try:
                frame = self._encoder.whole(calls)
            except Exception:
                tasks, calls = self._drop_unpicklable(tasks)
                if not tasks:
                    return
                frame = self._encoder.whole(calls)
        else:
            frame = self._encoder.each(calls)
        key = f"{self._prefix}-{next(self._keys)}"
        try:
            future = self._client.submit(run_group, frame, key=key, pure=False)
        except Exception as exc:
            failure = with_cause(ProcessError(f"the task could not be sent to the Dask cluster: {exc}"), exc)
            for job, index, *_rest in tasks:
                job._chunk_done(index, False, failure)
            return
        with self._cond:
            if self._terminated:
                dropped = True
            else:
                dropped = False
                self._running[key] = (future, tasks)
        if dropped:
            error = ProcessError("the pool was terminated before this task finished")
            for job, index, *_rest in tasks:
                job._chunk_done(index, False, error)
            return
        future.add_done_callback(self._future_done)

    def _drop_unpicklable(self, tasks: list[Task]) -> tuple[list[Task], list[Any]]:
        """Fail the tasks that do not pickle; return the others and their calls."""
        kept: list[Task] = []
        calls: list[Any] = []
        for task in tasks:
            job, index, func, mode, items = task
            try:
                self._encoder.check((func, mode, items))
            except Exception as exc:
                error = SerializationError(f"the task could not be pickled: {type(exc).__name__}: {exc}")
                job._chunk_done(index, False, with_cause(error, exc))
            else:
                kept.append(task)
                calls.append((func, mode, items))
        return kept, calls

    def _future_done(self, future: Any) -> None:
        # Runs in Dask's callback thread: hand over and return.
        with self._cond:
            self._finished.append(future)
            self._cond.notify()

    def _settle(self, futures: list[Any]) -> None:
        finished = [future for future in futures if future.status == "finished"]
        outcomes: dict[str, Any] = {}
        if finished:
            with contextlib.suppress(*FAILURES):  # one went wrong: all are settled one by one below
                outcomes = dict(zip([f.key for f in finished], self._client.gather(finished), strict=True))
        for future in futures:
            with self._cond:
                entry = self._running.pop(future.key, None)
            if entry is None:
                continue  # terminated meanwhile: its tasks have failed already
            tasks = entry[1]
            if future.key in outcomes:
                self._deliver(tasks, outcomes[future.key])
            else:
                self._settle_alone(future, tasks)

    def _settle_alone(self, future: Any, tasks: list[Task]) -> None:
        try:
            outcome = future.result()
        except FAILURES as exc:
            error = self._describe_failure(exc)
            for job, index, *_rest in tasks:
                job._chunk_done(index, False, error)
        else:
            self._deliver(tasks, outcome)

    def _describe_failure(self, exc: BaseException) -> BaseException:
        from distributed.scheduler import KilledWorker  # type: ignore[import-untyped,import-not-found,unused-ignore]

        if isinstance(exc, KilledWorker):
            return with_cause(WorkerLostError(None, f"Dask gave up on the task: {exc}"), exc)
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        return with_cause(ProcessError(f"the Dask cluster did not run this task ({text})"), exc)

    def _deliver(self, tasks: list[Task], frame: bytes | None) -> None:
        if frame is None:  # the worker could not unpickle the group: send it task by task
            with self._cond:
                if not self._terminated:
                    self._resend.append(tasks)
                    self._cond.notify()
            return
        outcome: list[tuple[bool, bytes, float]] = pickle.loads(frame)
        total = 0.0
        for (job, index, *_rest), (ok, payload, seconds) in zip(tasks, outcome, strict=True):
            total += seconds
            try:
                value = self._loads(payload)
            except Exception as exc:
                what = "result" if ok else "exception"
                error = SerializationError(f"the {what} could not be unpickled: {type(exc).__name__}: {exc}")
                job._chunk_done(index, False, with_cause(error, exc), seconds)
            else:
                job._chunk_done(index, ok, value, seconds)
        per_task = total / max(1, len(tasks))
        previous = self._seconds_per_task
        self._seconds_per_task = per_task if previous is None else 0.7 * previous + 0.3 * per_task

    # ------------------------------------------------------------------ release

    def _release(self) -> None:
        """Unregister the initializer and close what the pool opened (once)."""
        with self._release_lock:
            if self._released:
                return
            self._released = True
            client = self._client
            if self._plugin_name is not None and not self._owns_client:
                with contextlib.suppress(Exception):  # a gone cluster has no plugin to unregister
                    client.unregister_worker_plugin(self._plugin_name)
            if self._owns_client:
                try:
                    client.close(timeout=CLOSE_TIMEOUT_SECONDS)
                finally:
                    if self._cluster is not None:
                        self._cluster.close(timeout=CLOSE_TIMEOUT_SECONDS)
