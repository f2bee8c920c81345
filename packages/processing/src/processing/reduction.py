"""Pickling objects for other processes, as ``multiprocessing.reduction``.

``ForkingPickler`` (with ``register``, ``dumps``, ``loads``), ``register``, ``dump``, and
descriptor passing: ``DupFd``, ``send_handle``, ``recv_handle``, ``sendfds``, ``recvfds``.  This module is also
``processing.reducer``.
"""

from __future__ import annotations

from processing_core._fdpass import DupFd, recv_handle, recvfds, send_handle, sendfds
from processing_core._reduction import ForkingPickler, dump, register

__all__ = ["DupFd", "ForkingPickler", "dump", "recv_handle", "recvfds", "register", "send_handle", "sendfds"]
