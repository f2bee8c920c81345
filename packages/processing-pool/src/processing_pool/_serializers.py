"""How a process pool turns tasks and results into bytes: ``pickle`` or ``cloudpickle``.

The standard pickler can only send functions that a worker can import by name.
``cloudpickle`` also sends lambdas, closures and functions defined in ``__main__`` or a
notebook by value, which matters under the spawn and forkserver start methods.
"""

from __future__ import annotations

import io
import pickle
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from processing_core._reduction import ForkingPickler

SERIALIZERS = ("pickle", "cloudpickle")


@dataclass(frozen=True)
class Serializer:
    """A named pair of functions: ``dumps(obj) -> bytes`` and ``loads(bytes) -> obj``."""

    name: str
    dumps: Callable[[Any], bytes]
    loads: Callable[[Any], Any]


class _ThreadPickler(threading.local):
    """One reusable pickler per thread: making a pickler costs more than pickling a small task."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.pickler = ForkingPickler(self.buffer, pickle.HIGHEST_PROTOCOL)
        self.busy = False


_thread_pickler = _ThreadPickler()


def _pickle_dumps(obj: Any) -> bytes:
    state = _thread_pickler
    if state.busy:  # a reducer pickling something itself: use a fresh pickler
        return bytes(ForkingPickler.dumps(obj, pickle.HIGHEST_PROTOCOL))
    state.busy = True
    buffer = state.buffer
    try:
        state.pickler.dump(obj)
        return buffer.getvalue()
    finally:
        buffer.seek(0)
        buffer.truncate()
        state.pickler.clear_memo()
        state.busy = False


def get_serializer(name: str) -> Serializer:
    """Return the serializer called ``name``.

    Raises:
        ValueError: ``name`` is not one of ``"pickle"`` or ``"cloudpickle"``.
        ImportError: ``"cloudpickle"`` was asked for but is not installed.
    """
    if name == "pickle":
        return Serializer("pickle", _pickle_dumps, pickle.loads)
    if name == "cloudpickle":
        try:
            import cloudpickle  # type: ignore[import-untyped,import-not-found,unused-ignore]
        except ImportError as exc:
            raise ImportError(
                "serializer=\"cloudpickle\" needs the cloudpickle package: pip install 'processing-pool[cloudpickle]'"
            ) from exc
        return Serializer("cloudpickle", _cloudpickle_dumps(cloudpickle), pickle.loads)
    raise ValueError(f"serializer must be one of {', '.join(map(repr, SERIALIZERS))}, not {name!r}")


def _cloudpickle_dumps(module: Any) -> Callable[[Any], bytes]:
    def dumps(obj: Any) -> bytes:
        return bytes(module.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL))

    return dumps


# What a worker gets to run its initializer: the pair itself (default pickle: it travels
# with the worker's arguments), bytes from another serializer, or None.
InitPayload: TypeAlias = "tuple[Callable[..., object], tuple[Any, ...]] | bytes | None"
