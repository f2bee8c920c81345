"""``Pool``: the pool API on worker processes that are supervised, replaced and recycled."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from processing_core._util import Finalize

from processing_pool._backend import OpenJobs
from processing_pool._base import BasePool
from processing_pool._serializers import InitPayload, get_serializer
from processing_pool._supervisor import ProcessBackend

if TYPE_CHECKING:
    from processing_pool._dask import DaskBackend


def _positive_int(name: str, value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be a positive int or None, not {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")
    return value


def _resolve_context(context: Any) -> Any:
    from processing_core._context import get_context

    if context is None or isinstance(context, str):
        return get_context(context)
    if not hasattr(context, "Process"):
        raise TypeError(f"context must be a start method name or a context object, not {type(context).__name__}")
    return context


def _default_processes(context: Any) -> int:
    try:
        return int(context.cpu_count())
    except (NotImplementedError, AttributeError):
        return 1


class Pool(BasePool):
    """A pool of worker processes.

    A worker that dies (killed, crashed, ``os._exit``) fails exactly the tasks it held
    with :class:`~processing_pool.WorkerLostError`, and a replacement starts.

    Args:
        processes: how many workers (default: the number of CPUs).
        initializer: if given, each worker calls ``initializer(*initargs)`` when it starts.
        initargs: arguments for ``initializer``.
        maxtasksperchild: replace a worker after it has run this many tasks (chunks).
        context: a context (``processing_core.get_context(...)``) or a start method name;
            default: the default start method.
        task_timeout: seconds a task (one call, or one chunk of a map) may run; a worker
            past it is killed and replaced, and the task fails with
            :class:`processing_core.TimeoutError`.
        max_memory_per_child: replace a worker once its resident memory after a batch
            exceeds this many bytes.
        serializer: ``"pickle"`` or ``"cloudpickle"`` (lambdas, closures and functions of
            ``__main__`` under spawn; needs the ``cloudpickle`` extra).
        backend: ``None`` (local processes), ``"dask"`` (a Dask cluster; needs the
            ``dask`` extra) or a :class:`~processing_pool.DaskBackend`.  On Dask, tasks
            travel by cloudpickle, and ``context``, ``maxtasksperchild``, ``task_timeout``
            and ``max_memory_per_child`` are not supported.
        address: with ``backend="dask"``, the scheduler to use (``"tcp://host:8786"``);
            without it the pool starts a ``LocalCluster`` of ``processes`` workers on
            127.0.0.1 and closes it with the pool.

    Raises:
        ValueError: a count or limit is not positive, or ``serializer`` is unknown.
    """

    def __init__(
        self,
        processes: int | None = None,
        initializer: Callable[..., object] | None = None,
        initargs: Iterable[Any] = (),
        maxtasksperchild: int | None = None,
        context: Any = None,
        *,
        task_timeout: float | None = None,
        max_memory_per_child: int | None = None,
        serializer: str = "pickle",
        backend: str | DaskBackend | None = None,
        address: str | None = None,
    ) -> None:
        if backend is not None or address is not None:
            from processing_pool._dask_pool import init_dask_pool

            unsupported = {
                "context": context,
                "maxtasksperchild": maxtasksperchild,
                "task_timeout": task_timeout,
                "max_memory_per_child": max_memory_per_child,
            }
            init_dask_pool(self, backend, address, processes, initializer, initargs, serializer, unsupported)
            return
        ctx = _resolve_context(context)
        size = _default_processes(ctx) if processes is None else _positive_int("processes", processes)
        if initializer is not None and not callable(initializer):
            raise TypeError("initializer must be a callable")
        if maxtasksperchild is not None:
            _positive_int("maxtasksperchild", maxtasksperchild)
        if max_memory_per_child is not None:
            _positive_int("max_memory_per_child", max_memory_per_child)
        if task_timeout is not None:
            if isinstance(task_timeout, bool) or not isinstance(task_timeout, (int, float)):
                raise TypeError(f"task_timeout must be a number of seconds or None, not {type(task_timeout).__name__}")
            if not task_timeout > 0:
                raise ValueError(f"task_timeout must be positive, not {task_timeout}")
        chosen = get_serializer(serializer)
        init_payload: InitPayload = None
        if initializer is not None and chosen.name == "pickle":
            # Passed as the worker's own arguments, pickled while each worker starts: so
            # queues, locks and shared values (which travel only then) can be initargs.
            init_payload = (initializer, tuple(initargs))
        elif initializer is not None:
            init_payload = chosen.dumps((initializer, tuple(initargs)))
        open_jobs = OpenJobs()
        processes_backend = ProcessBackend(
            size,
            context=ctx,
            serializer=chosen,
            init_payload=init_payload,
            maxtasksperchild=maxtasksperchild,
            task_timeout=float(task_timeout) if task_timeout is not None else None,
            max_memory_per_child=max_memory_per_child,
            open_jobs=open_jobs,
        )
        self._init_base(processes_backend, open_jobs)
        # Collected or at exit (before non-daemonic children are joined): stop everything.
        self._terminate_finalizer = Finalize(self, processes_backend.terminate, exitpriority=15)

    def terminate(self) -> None:
        """Stop the workers now; results not yet finished fail with ``ProcessError``."""
        super().terminate()
        self._terminate_finalizer.cancel()
