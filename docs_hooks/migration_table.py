"""mkdocs hook: render the migration tables from ``docs/migration-names.toml``.

``docs/migration.md`` holds one marker line ``<!-- migration-table: ID -->`` per section of
the data file; at build time each marker becomes that section's table.  The same functions
are used by ``tests/docs/test_migration.py``, which checks every row against the code.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

DATA_FILE = Path(__file__).resolve().parents[1] / "docs" / "migration-names.toml"
PAGE = "migration.md"
MARKER = re.compile(r"^<!-- migration-table: (?P<id>[\w-]+) -->$", re.MULTILINE)
STATUSES = {"yes": "yes", "not yet": "not yet", "no": "no"}


def load_sections(path: Path = DATA_FILE) -> list[dict[str, Any]]:
    """Read the data file and check the shape of every row."""
    with path.open("rb") as handle:
        sections = tomllib.load(handle)["section"]
    for section in sections:
        for row in section["names"]:
            missing = {"old", "modern", "target", "status"} - row.keys()
            if missing:
                raise ValueError(f"{path.name}: row {row} lacks {sorted(missing)}")
            if row["status"] not in STATUSES:
                raise ValueError(f"{path.name}: row {row['old']!r} has status {row['status']!r}, not one of {sorted(STATUSES)}")
    return sections


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _code(text: str) -> str:
    return f"`{text}`" if text else "—"


def render_section(section: dict[str, Any]) -> str:
    """A heading and one Markdown table for one section of the data file."""
    lines = [
        f"### {section['title']}",
        "",
        "| name | today's `multiprocessing` | in `processing` | available | note |",
        "|---|---|---|---|---|",
    ]
    for row in section["names"]:
        modern = row["modern"]
        modern_cell = modern if modern == "the same" else _code(modern)
        lines.append(
            "| "
            + " | ".join(
                [
                    _cell(_code(row["old"])),
                    _cell(modern_cell),
                    _cell(_code(row["target"])),
                    STATUSES[row["status"]],
                    _cell(row.get("note", "")),
                ]
            )
            + " |"
        )
    return "\n".join(lines)


def render_page(markdown: str, sections: list[dict[str, Any]]) -> str:
    """Replace every marker in ``markdown`` with its section's table."""
    by_id = {section["id"]: section for section in sections}

    def replace(match: re.Match[str]) -> str:
        section_id = match.group("id")
        if section_id not in by_id:
            raise ValueError(f"{PAGE}: marker for unknown migration section {section_id!r}")
        return render_section(by_id[section_id])

    return MARKER.sub(replace, markdown)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """mkdocs event: fill in the tables on the migration page only."""
    if page.file.src_uri != PAGE:
        return markdown
    return render_page(markdown, load_sections())
