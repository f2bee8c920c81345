"""Fixtures shared by the core tests."""

from __future__ import annotations

import pytest


@pytest.fixture
def pipe():
    """A one-way ``(reader, writer)`` pair of connections, closed after the test."""
    from processing_core.connection import Pipe  # lazily, as the top-level conftest does

    reader, writer = Pipe(duplex=False)
    yield reader, writer
    reader.close()
    writer.close()
