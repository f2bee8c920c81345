"""``SharedMemoryManager``: shared-memory segments unlinked when the manager stops."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable
from typing import Any

from processing_core._shareable_list import ShareableList
from processing_core._shared_memory import SharedMemory
from processing_core._util import Finalize

from processing_managers._manager import BaseManager
from processing_managers._proxy import BaseProxy


class SegmentRegistry:
    """Lives in the server: the names of the segments to unlink when it stops."""

    def __init__(self) -> None:
        self._names: set[str] = set()
        self._lock = threading.Lock()
        # The server process runs its exit finalizers when it stops, whatever stopped it.
        Finalize(self, SegmentRegistry._unlink_all, args=(self._names, self._lock), exitpriority=5)

    def track(self, name: str) -> None:
        """Unlink the segment ``name`` when the manager stops."""
        with self._lock:
            self._names.add(name)

    def untrack(self, name: str) -> None:
        """Forget ``name`` (its owner unlinked it already)."""
        with self._lock:
            self._names.discard(name)

    def names(self) -> list[str]:
        """The names being tracked."""
        with self._lock:
            return sorted(self._names)

    @staticmethod
    def _unlink_all(names: set[str], lock: threading.Lock) -> None:
        with lock:
            pending = list(names)
            names.clear()
        for name in pending:
            with contextlib.suppress(OSError):  # its owner may have unlinked it already
                _unlink(name)


def _unlink(name: str) -> None:
    segment = SharedMemory(name, create=False, track=False)
    try:
        segment.unlink()
    finally:
        segment.close()


class _SegmentRegistryProxy(BaseProxy):
    _exposed_ = ("track", "untrack", "names")

    def track(self, name: str) -> None:
        self._callmethod("track", (name,))

    def names(self) -> list[str]:
        return list(self._callmethod("names"))


_server_registry: SegmentRegistry | None = None


def _the_registry() -> SegmentRegistry:
    # One registry per server process, however many clients ask for it.
    global _server_registry  # noqa: PLW0603
    if _server_registry is None:
        _server_registry = SegmentRegistry()
    return _server_registry


class SharedMemoryManager(BaseManager):
    """A manager whose ``SharedMemory(size)`` and ``ShareableList(seq)`` segments are
    unlinked when it shuts down (or its server process exits), so none outlives it."""

    def _segments(self) -> _SegmentRegistryProxy:
        proxy: _SegmentRegistryProxy = self.__dict__.get("_segment_proxy")  # type: ignore[assignment]
        if proxy is None:
            proxy = self.__dict__["_segment_proxy"] = self._segment_registry()
        return proxy

    def SharedMemory(self, size: int) -> SharedMemory:
        """Create a shared-memory segment of ``size`` bytes, owned by this manager."""
        segment = SharedMemory(create=True, size=size)
        try:
            self._segments().track(segment.name)
        except BaseException:
            segment.close()
            segment.unlink()
            raise
        return segment

    def ShareableList(self, sequence: Iterable[Any] | None = None) -> ShareableList:
        """Create a :class:`ShareableList` of ``sequence``, owned by this manager."""
        shareable = ShareableList(sequence)
        try:
            self._segments().track(shareable.shm.name)
        except BaseException:
            shareable.shm.close()
            shareable.shm.unlink()
            raise
        return shareable


SharedMemoryManager.register("_segment_registry", _the_registry, _SegmentRegistryProxy)
