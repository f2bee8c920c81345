"""A target module that imports nothing of ours at top level (see test_spawned_child_stays_lean)."""

from __future__ import annotations

import sys


def report_modules(path: str) -> None:
    """Record whether the package __init__ ran before and after touching a public name."""
    before = "processing_core.connection" in sys.modules
    import processing_core

    version = processing_core.__version__
    after = "processing_core.connection" in sys.modules
    with open(path, "w") as out:
        out.write(repr((before, after, bool(version), processing_core.current_process().name)))
