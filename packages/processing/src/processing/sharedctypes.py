"""ctypes objects in shared memory, as ``multiprocessing.sharedctypes`` (and 0.52's module).

Re-exports :mod:`processing_sync.sharedctypes`.  The 0.52 wrapper methods ``getobj()`` and
``getlock()`` are methods of the wrappers themselves.
"""

from __future__ import annotations

from processing_sync.sharedctypes import (
    Array,
    RawArray,
    RawValue,
    Synchronized,
    SynchronizedArray,
    SynchronizedBase,
    SynchronizedString,
    Value,
    copy,
    synchronized,
    typecode_to_type,
)

__all__ = [
    "Array",
    "RawArray",
    "RawValue",
    "Synchronized",
    "SynchronizedArray",
    "SynchronizedBase",
    "SynchronizedString",
    "Value",
    "copy",
    "synchronized",
    "typecode_to_type",
]
