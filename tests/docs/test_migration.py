"""The migration table cannot drift from the code.

``docs/migration-names.toml`` is the single source of the tables on the Migration page
(rendered by the mkdocs hook ``docs_hooks/migration_table.py``).  Here every row is
checked against the installed packages: a name marked "yes" must resolve, and a name
marked "not yet" or "no" must not.  The table must also cover every top-level name of the
running interpreter's ``multiprocessing`` and of ``processing`` 0.52.
"""

from __future__ import annotations

import importlib
import importlib.util
import multiprocessing
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA_FILE = ROOT / "docs" / "migration-names.toml"
PAGE = ROOT / "docs" / "migration.md"
HOOK = ROOT / "docs_hooks" / "migration_table.py"

# processing 0.52's top-level names (its __all__, plus the names it defined outside it).
NAMES_052 = (
    "Process currentProcess activeChildren freezeSupport Manager Pipe cpuCount getLogger enableLogging "
    "BufferTooShort TimeoutError Lock RLock Semaphore BoundedSemaphore Condition Event Queue Pool Value Array "
    "waitForAnyChild ProcessError HAVE_NATIVE_SEMAPHORE ORIGINAL_DIR NOTSET SUBDEBUG DEBUG INFO SUBWARNING"
).split()


def _load_hook() -> ModuleType:
    spec = importlib.util.spec_from_file_location("migration_table_hook", HOOK)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


hook = _load_hook()
SECTIONS: list[dict[str, Any]] = hook.load_sections(DATA_FILE)
ROWS = [(section["id"], row) for section in SECTIONS for row in section["names"]]


resolves = hook.resolves


def _row_id(item: tuple[str, dict[str, Any]]) -> str:
    section_id, row = item
    return f"{section_id}:{row['target']}"


@pytest.mark.parametrize("item", ROWS, ids=[_row_id(item) for item in ROWS])
def test_row_status_matches_the_code(item: tuple[str, dict[str, Any]]) -> None:
    section_id, row = item
    found = resolves(row["target"])
    if row["status"] == "yes":
        assert found, (
            f"docs/migration-names.toml [{section_id}] says {row['target']} is available, but it does not "
            'resolve: build it, or set its status back to "not yet"'
        )
    else:
        assert not found, (
            f"docs/migration-names.toml [{section_id}] says {row['target']} is {row['status']!r}, but it "
            'resolves now: set its status to "yes" (`hatch run test:python docs_hooks/migration_table.py --update`)'
        )


def test_rows_target_processing() -> None:
    wrong = [row["target"] for _, row in ROWS if not re.fullmatch(r"processing(\.\w+)+", row["target"])]
    assert not wrong, f"targets must be dotted paths under processing: {wrong}"


def test_every_multiprocessing_top_level_name_is_listed() -> None:
    listed = {row["target"] for _, row in ROWS}
    missing = sorted(name for name in multiprocessing.__all__ if f"processing.{name}" not in listed)
    assert not missing, f"multiprocessing.__all__ names missing from docs/migration-names.toml: {missing}"


def test_every_052_top_level_name_is_listed() -> None:
    listed = {row["target"] for section_id, row in ROWS if section_id == "top-052"}
    missing = sorted(name for name in NAMES_052 if f"processing.{name}" not in listed)
    assert not missing, f"processing 0.52 top-level names missing from the top-052 section: {missing}"


def test_every_section_has_one_marker_on_the_page() -> None:
    markers = hook.MARKER.findall(PAGE.read_text(encoding="utf-8"))
    ids = [section["id"] for section in SECTIONS]
    assert sorted(markers) == sorted(ids), f"markers on migration.md {markers} != sections in the data file {ids}"
    assert len(set(ids)) == len(ids), f"duplicate section ids: {ids}"


def test_the_page_renders_every_row() -> None:
    rendered = hook.render_page(PAGE.read_text(encoding="utf-8"), SECTIONS)
    assert "<!-- migration-table" not in rendered
    for _, row in ROWS:
        assert f"`{row['target']}`" in rendered, row


def test_resolver_tells_present_from_absent() -> None:
    assert resolves("processing")
    assert resolves("processing.__version__")
    assert resolves("os.path.join")
    assert not resolves("processing.no_such_name_here")
    assert not resolves("processing.no_such_module.Thing")
    assert not resolves("os.path.join.no_such_attribute")
