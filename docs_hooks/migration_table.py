"""mkdocs hook: render the migration tables from ``docs/migration-names.toml``.

``docs/migration.md`` holds one marker line ``<!-- migration-table: ID -->`` per section of
the data file; at build time each marker becomes that section's table.  The same functions
are used by ``tests/docs/test_migration.py``, which checks every row against the code.

Run as a script after building or removing names, to flip "not yet" rows whose target now
resolves to "yes" (and back), in place; rows marked "no" are only reported::

    hatch run docs:python docs_hooks/migration_table.py --update
"""

from __future__ import annotations

import argparse
import importlib
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
                raise ValueError(
                    f"{path.name}: row {row['old']!r} has status {row['status']!r}, not one of {sorted(STATUSES)}"
                )
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


def resolves(dotted: str) -> bool:
    """Whether ``dotted`` names something: import the longest module prefix, then getattr the rest."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        module_name = ".".join(parts[:cut])
        try:
            obj: Any = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            # Only "this module does not exist" means absent; a failed import inside a real
            # module is a bug to report, not a name that is not there yet.
            if exc.name is None or not module_name.startswith(exc.name):
                raise
            continue
        for attribute in parts[cut:]:
            if not hasattr(obj, attribute):
                return False
            obj = getattr(obj, attribute)
        return True
    return False


def update_statuses(path: Path = DATA_FILE) -> list[str]:
    """Set each "yes"/"not yet" row to what the code says; return what changed or needs a person."""
    text = path.read_text(encoding="utf-8")
    messages = []
    for section in load_sections(path):
        for row in section["names"]:
            found = resolves(row["target"])
            wanted = "yes" if found else "not yet"
            if row["status"] == "no":
                if found:
                    messages.append(f'{row["target"]} is marked "no" but resolves: decide and edit it by hand')
                continue
            if row["status"] != wanted:
                line = re.compile(
                    r'^(?P<head>.*target = "' + re.escape(row["target"]) + r'", status = )"[^"]*"', re.MULTILINE
                )
                text, count = line.subn(lambda m, w=wanted: f'{m.group("head")}"{w}"', text)
                messages.append(f"{row['target']}: {row['status']} -> {wanted} ({count} row(s))")
    path.write_text(text, encoding="utf-8")
    return messages


def main() -> None:
    """Command line: check or update the statuses in the data file."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="rewrite the statuses in place")
    args = parser.parse_args()
    if args.update:
        for message in update_statuses():
            print(message)
        return
    for section in load_sections():
        for row in section["names"]:
            found = resolves(row["target"])
            if found != (row["status"] == "yes"):
                print(f"{row['target']}: marked {row['status']!r}, resolves={found}")


if __name__ == "__main__":
    main()
