"""``python -m processing`` runs and reports every package."""

from __future__ import annotations

import subprocess
import sys

PACKAGES = ("processing", "processing_core", "processing_sync", "processing_pool", "processing_managers")


def test_python_m_processing_reports_all_packages() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "processing"], capture_output=True, text=True, timeout=120, check=True
    )
    for name in PACKAGES:
        assert name in result.stdout
    assert "native core" in result.stdout


def test_help_lists_the_options() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "processing", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "usage: python -m processing" in result.stdout
