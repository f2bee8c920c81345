"""``SyncManager`` and ``Manager()``: shared lists, dicts, namespaces and primitives."""

from __future__ import annotations

import queue
import threading
from typing import Any

from processing_core._context import register_context_method

from processing_managers._manager import BaseManager
from processing_managers._proxies import (
    AcquirerProxy,
    ArrayProxy,
    BarrierProxy,
    ConditionProxy,
    DictProxy,
    EventProxy,
    IteratorProxy,
    ListProxy,
    Namespace,
    NamespaceProxy,
    SharedArray,
    SharedValue,
    ValueProxy,
    shared_dict,
)
from processing_managers._proxy import AutoProxy


class SyncManager(BaseManager):
    """A manager of shared ``list``, ``dict``, ``Namespace``, ``Value``, ``Array``, queues and primitives.

    The objects live in the server process; in it, locks, conditions, events,
    barriers and queues are ``threading``'s and ``queue``'s, and every client call is
    served by a thread of its own.  ``Pool`` is registered by the ``processing``
    meta-package (this package does not depend on the pool package).
    """


SyncManager.register("Queue", queue.Queue)
SyncManager.register("JoinableQueue", queue.Queue)
SyncManager.register("Event", threading.Event, EventProxy)
SyncManager.register("Lock", threading.Lock, AcquirerProxy)
SyncManager.register("RLock", threading.RLock, AcquirerProxy)
SyncManager.register("Semaphore", threading.Semaphore, AcquirerProxy)
SyncManager.register("BoundedSemaphore", threading.BoundedSemaphore, AcquirerProxy)
SyncManager.register("Condition", threading.Condition, ConditionProxy)
SyncManager.register("Barrier", threading.Barrier, BarrierProxy)
SyncManager.register("list", list, ListProxy)
SyncManager.register("dict", shared_dict, DictProxy)
SyncManager.register("Namespace", Namespace, NamespaceProxy)
SyncManager.register("Value", SharedValue, ValueProxy)
SyncManager.register("Array", SharedArray, ArrayProxy)
# Types of results that stay in the server: made by methods, never created directly.
SyncManager.register("Iterator", proxytype=IteratorProxy, create_method=False)
SyncManager.register("AsyncResult", create_method=False)
SyncManager.register("AutoProxy", proxytype=AutoProxy, create_method=False)


def Manager(ctx: Any = None) -> SyncManager:
    """Start a :class:`SyncManager` and return it (shut it down with ``shutdown()`` or ``with``)."""
    manager = SyncManager(ctx=ctx)
    manager.start()
    return manager


register_context_method("Manager", Manager)
