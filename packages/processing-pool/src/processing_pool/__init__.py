"""processing_pool: worker pools on local processes, threads or a Dask cluster.

Nothing here is implemented yet beyond the package itself; see the documentation's
roadmap.
"""

from __future__ import annotations

from processing_pool._version import __version__

__all__ = ["__version__"]
