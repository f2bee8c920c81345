"""A target module that imports nothing of ours at top level (see test_spawned_child_stays_lean)."""

from __future__ import annotations

import sys


def report_modules(path: str) -> None:
    """Record whether connections were imported: before, after using the package, after ``Pipe``."""
    before = "processing_core.connection" in sys.modules
    import processing_core

    version = processing_core.__version__
    name = processing_core.current_process().name
    after_use = "processing_core.connection" in sys.modules
    processing_core.Pipe  # the look-up itself is what is recorded
    after_pipe = "processing_core.connection" in sys.modules
    with open(path, "w") as out:
        out.write(repr((before, after_use, after_pipe, bool(version), name)))
