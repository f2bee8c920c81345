"""processing_managers: server-process managers and the proxies that reach them.

Shared objects live in a manager's server process and are used through proxies,
from this process, its children, or other machines (remote managers over TCP).
"""

from __future__ import annotations

from processing_managers._manager import BaseManager, CreatorMethod, State
from processing_managers._proxies import (
    AcquirerProxy,
    ArrayProxy,
    BarrierProxy,
    BaseListProxy,
    ConditionProxy,
    DictProxy,
    EventProxy,
    IteratorProxy,
    ListProxy,
    Namespace,
    NamespaceProxy,
    PoolProxy,
    ValueProxy,
)
from processing_managers._proxy import AutoProxy, BaseProxy, MakeProxyType, RebuildProxy
from processing_managers._server import Server
from processing_managers._shared_memory_manager import SharedMemoryManager
from processing_managers._sync_manager import Manager, SyncManager
from processing_managers._version import __version__
from processing_managers._wire import RemoteError, Token

__all__ = [
    "AcquirerProxy",
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
    "Manager",
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
    "ValueProxy",
    "__version__",
]
