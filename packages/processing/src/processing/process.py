"""Process objects, as ``multiprocessing.process`` and 0.52's ``processing.process``.

``Process`` and its base ``BaseProcess``, ``current_process``, ``parent_process``,
``active_children``, and the 0.52 names ``currentProcess`` and ``activeChildren``
(the same functions).
"""

from __future__ import annotations

from processing_core._context import Process
from processing_core._process import (
    AuthenticationString,
    BaseProcess,
    active_children,
    current_process,
    parent_process,
)

currentProcess = current_process
activeChildren = active_children

__all__ = [
    "AuthenticationString",
    "BaseProcess",
    "Process",
    "activeChildren",
    "active_children",
    "currentProcess",
    "current_process",
    "parent_process",
]
