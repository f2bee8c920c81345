"""processing_core: the native core of ``processing``.

Processes and start methods, connections, shared memory and process-shared
semaphores, built on a C extension (``processing_core._native``) compiled with cffi.
This package imports nothing else of ``processing``: it can be installed alone.
"""

from __future__ import annotations

from processing_core._errors import AuthenticationError, BufferTooShort, ProcessError, TimeoutError
from processing_core._platform import monotonic, native_build_info, page_size
from processing_core._version import __version__

__all__ = [
    "AuthenticationError",
    "BufferTooShort",
    "ProcessError",
    "TimeoutError",
    "__version__",
    "monotonic",
    "native_build_info",
    "page_size",
]
