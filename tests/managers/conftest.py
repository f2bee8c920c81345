"""Make the picklable test targets importable by name in spawned children and servers."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
