"""The native types behind the hot paths of locks and locked shared values.

``native/fast_types.h`` defines them in C (a cffi call costs more than the futex word a
``with lock:`` flips; a C method does not); importing this module adds them to
``processing_core._native`` once and names them here.
"""

from __future__ import annotations

from processing_core import _native
from processing_core._native import lib

__all__ = ["FastSemLock", "LockedArray", "LockedBase", "LockedValue"]

if not hasattr(_native, "FastSemLock") and lib.prc_quick_fast_types_install() != 0:
    raise ImportError("processing_core._native could not create its fast lock types")

#: Base of :class:`processing_core._semaphore.SemLock`: ``__enter__``, ``__exit__``, ``release``.
FastSemLock = _native.FastSemLock
#: Base of the synchronized wrappers: the ctypes object, its lock, ``with`` in C.
LockedBase = _native.LockedBase
#: A locked simple value: ``value`` read and written under the lock in C.
LockedValue = _native.LockedValue
#: A locked array: indexing and slicing under the lock in C.
LockedArray = _native.LockedArray
