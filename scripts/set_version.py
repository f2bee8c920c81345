"""Set the one version of all five packages: the VERSION file and every sibling pin."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SIBLINGS = ("processing-core", "processing-sync", "processing-pool", "processing-managers")


def set_version(version: str) -> None:
    """Write ``version`` to VERSION and pin every sibling dependency to it."""
    if not re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc|\.dev)?\d*", version):
        raise SystemExit(f"not a release version: {version!r}")
    (ROOT / "VERSION").write_text(version + "\n")
    pin = re.compile(r'"(' + "|".join(SIBLINGS) + r')==[^"]*"')
    for pyproject in sorted(ROOT.glob("packages/*/pyproject.toml")):
        text = pyproject.read_text()
        pyproject.write_text(pin.sub(lambda m: f'"{m.group(1)}=={version}"', text))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python scripts/set_version.py X.Y.Z")
    set_version(sys.argv[1])
