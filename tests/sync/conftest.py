"""Fixtures of the sync suite: the backends of the primitives' behavioural suite."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# Worker modules of this directory must be importable here and in spawned children.
sys.path.insert(0, str(Path(__file__).parent))

from sync_twins import BACKENDS, PROCESS_BACKENDS, Backend


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A backend of the primitives' suite: threading's twins, ours in threads, or one start method."""
    chosen = Backend(str(request.param))
    yield chosen
    chosen.cleanup()


@pytest.fixture(params=PROCESS_BACKENDS)
def process_backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A process backend (one start method), for what only processes can do."""
    chosen = Backend(str(request.param))
    yield chosen
    chosen.cleanup()
