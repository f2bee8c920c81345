"""0.52's ``processing.finalize``: ``Finalize``, the same class as :class:`processing.util.Finalize`.

Its 0.52 method ``stillActive()`` is the same as ``still_active()``.
"""

from __future__ import annotations

from processing_core._util import Finalize

__all__ = ["Finalize"]
