"""processing_managers: server-process managers and the proxies that reach them.

Shared objects live in a manager's server process and are used through proxies,
locally or across machines.  Nothing here is implemented yet beyond the package
itself; see the documentation's roadmap.
"""

from __future__ import annotations

from processing_managers._version import __version__

__all__ = ["__version__"]
