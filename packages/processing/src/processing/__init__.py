"""processing: run work in other processes with the API of ``threading``.

The meta-package: one threading-like API re-exported from ``processing_core``,
``processing_sync``, ``processing_pool`` and ``processing_managers``, plus the
names of ``processing`` 0.52.  It holds no machinery of its own.
"""

from __future__ import annotations

from processing._version import __version__

__all__ = ["__version__"]
