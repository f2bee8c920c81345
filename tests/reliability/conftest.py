"""The reliability suite's fixtures, and its figures at the end of the terminal summary."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))  # helpers and picklable targets, by name

from reliability_helpers import FIGURES, family

__all__ = ["family"]


def pytest_terminal_summary(terminalreporter) -> None:
    """Print the run's figures: faults survived, inputs tried, items carried, leaks found."""
    if FIGURES:
        figures = ", ".join(f"{name} {FIGURES[name]:,}" for name in sorted(FIGURES))
        terminalreporter.write_line(f"reliability figures: {figures}")
