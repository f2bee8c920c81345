"""Server-process managers and proxies, as ``multiprocessing.managers`` and 0.52's ``processing.managers``.

Re-exports :mod:`processing_managers`.  ``SyncManager.Pool`` is registered when
``processing`` is imported (the managers package never imports the pool package).
``Value`` and ``Array`` are the types a ``SyncManager`` serves for ``manager.Value()``
and ``manager.Array()``.  The 0.52 names ``CreatorMethod``, ``BaseManager.fromAddress``
and ``BaseProxy._callMethod``/``_getValue`` come with the classes.
"""

from __future__ import annotations

from processing_managers import (
    AcquirerProxy,
    ArrayProxy,
    AutoProxy,
    BarrierProxy,
    BaseListProxy,
    BaseManager,
    BaseProxy,
    ConditionProxy,
    CreatorMethod,
    DictProxy,
    EventProxy,
    IteratorProxy,
    ListProxy,
    MakeProxyType,
    Namespace,
    NamespaceProxy,
    PoolProxy,
    RebuildProxy,
    RemoteError,
    Server,
    SharedMemoryManager,
    State,
    SyncManager,
    Token,
    ValueProxy,
)
from processing_managers._proxies import SharedArray as Array
from processing_managers._proxies import SharedValue as Value

__all__ = [
    "AcquirerProxy",
    "Array",
    "ArrayProxy",
    "AutoProxy",
    "BarrierProxy",
    "BaseListProxy",
    "BaseManager",
    "BaseProxy",
    "ConditionProxy",
    "CreatorMethod",
    "DictProxy",
    "EventProxy",
    "IteratorProxy",
    "ListProxy",
    "MakeProxyType",
    "Namespace",
    "NamespaceProxy",
    "PoolProxy",
    "RebuildProxy",
    "RemoteError",
    "Server",
    "SharedMemoryManager",
    "State",
    "SyncManager",
    "Token",
    "Value",
    "ValueProxy",
]
