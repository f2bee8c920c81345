"""Platform facts read from the native core."""

from __future__ import annotations

import functools

from processing_core._native import ffi, lib


@functools.cache
def page_size() -> int:
    """Return the size of a memory page in bytes (shared mappings round up to it)."""
    return int(lib.prc_page_size())


def monotonic() -> float:
    """Return the monotonic clock that every timed wait of the core uses, in seconds."""
    return int(lib.prc_monotonic_ns()) / 1e9


@functools.cache
def native_build_info() -> str:
    """Return the compiler and C library that ``processing_core._native`` was built with."""
    return str(ffi.string(lib.prc_build_info()).decode("utf-8", "replace"))
