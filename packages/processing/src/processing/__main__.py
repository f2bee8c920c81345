"""``python -m processing``: show what is installed and what the native core was built with."""

from __future__ import annotations

import argparse
import importlib
import platform
import sys

PACKAGES = ("processing", "processing_core", "processing_sync", "processing_pool", "processing_managers")


def describe_installation() -> list[str]:
    """Return one line per package with its version, then the native core's build facts."""
    lines = []
    for name in PACKAGES:
        module = importlib.import_module(name)
        lines.append(f"{name:<22}{module.__version__}")
    core = importlib.import_module("processing_core")
    lines.append(f"{'native core':<22}{core.native_build_info()}, page size {core.page_size()} B")
    lines.append(f"{'python':<22}{platform.python_implementation()} {platform.python_version()} on {sys.platform}")
    return lines


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m processing``."""
    parser = argparse.ArgumentParser(prog="python -m processing", description=__doc__)
    parser.parse_args(argv)
    print("\n".join(describe_installation()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
