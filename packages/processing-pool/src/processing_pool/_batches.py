"""How batches of tasks are encoded for a worker.

A batch is normally pickled whole (:data:`WHOLE`): one pickler run for many tasks is
far cheaper than one per task, and the function is written once.  When that fails, or
when a worker could not unpickle a batch, or when a worker died before it began any
task of its batch, the tasks travel pickled one by one (:data:`EACH`), so that the one
at fault fails alone.

A frame to a worker is ``struct("<BI")`` (format, number of tasks) followed by the
pickled batch; :data:`STOP` frames carry nothing.
"""

from __future__ import annotations

import pickle
import struct
import types
from typing import Any

from processing_pool._serializers import Serializer

WHOLE, EACH, STOP = 0, 1, 2
HEADER = struct.Struct("<BI")
FUNCTION_CACHE_SIZE = 1024
_BY_NAME = (types.FunctionType, types.BuiltinFunctionType)


class BatchEncoder:
    """Pickles batches of ``(func, mode, items)`` tasks for the workers of one pool."""

    def __init__(self, serializer: Serializer) -> None:
        self._dumps = serializer.dumps
        # Functions the standard pickler sends by name never change their bytes: pickle once.
        self._function_cache: dict[Any, bytes] = {}
        self._cache_functions = serializer.name == "pickle"

    def whole(self, tasks: list[Any]) -> bytes:
        """The body of a :data:`WHOLE` frame; raises if any task cannot be pickled."""
        return HEADER.pack(WHOLE, len(tasks)) + self._dumps(tasks)

    def check(self, task: Any) -> None:
        """Raise the error pickling ``task`` alone raises, if any."""
        self._dumps(task)

    def each(self, tasks: list[Any]) -> bytes:
        """The body of an :data:`EACH` frame (every task here is known to pickle)."""
        payloads = [(*self._function_bytes(func), self._dumps((mode, items))) for func, mode, items in tasks]
        return HEADER.pack(EACH, len(tasks)) + pickle.dumps(payloads, pickle.HIGHEST_PROTOCOL)

    def _function_bytes(self, func: Any) -> tuple[bytes, bool]:
        """The pickled function, and whether the worker may keep it for later tasks."""
        if not (self._cache_functions and type(func) in _BY_NAME):
            return self._dumps(func), False
        cached = self._function_cache.get(func)
        if cached is None:
            cached = self._dumps(func)
            if len(self._function_cache) >= FUNCTION_CACHE_SIZE:
                self._function_cache.clear()
            self._function_cache[func] = cached
        return cached, True


STOP_BODY = HEADER.pack(STOP, 0)
