"""Shared ctypes under a public module name (like ``multiprocessing.sharedctypes``).

``RawValue``, ``RawArray`` and ``typecode_to_type`` (from ``processing_core``), and the
synchronized ``Value``, ``Array``, ``synchronized()``, ``copy()`` and wrapper classes.
"""

from __future__ import annotations

from processing_core._sharedctypes import RawArray, RawValue, typecode_to_type

from processing_sync._sharedctypes import (
    Array,
    Synchronized,
    SynchronizedArray,
    SynchronizedBase,
    SynchronizedString,
    Value,
    copy,
    synchronized,
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
