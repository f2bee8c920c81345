"""processing_sync: the primitives of ``threading``, working across processes.

Locks, conditions, events, barriers, queues and synchronized shared values, built
on ``processing_core``.  Nothing here is implemented yet beyond the package itself;
see the documentation's roadmap.
"""

from __future__ import annotations

from processing_sync._version import __version__

__all__ = ["__version__"]
