"""mkdocs hook: list the user guide's pages on ``docs/guide/index.md``.

The package engineers add their pages to the "User guide" section of the nav in
``mkdocs.yml``; this hook replaces the marker ``<!-- guide-pages -->`` on the guide's index
page with links to them, in nav order, so that the index never goes stale.
"""

from __future__ import annotations

import posixpath
from typing import Any

INDEX = "guide/index.md"
MARKER = "<!-- guide-pages -->"
SECTION_TITLE = "User guide"
_pages: list[tuple[str, str]] = []


def on_nav(nav: Any, **_: Any) -> Any:
    """Remember the pages of the "User guide" nav section (title, source path)."""
    _pages.clear()
    for item in nav.items:
        if getattr(item, "title", None) == SECTION_TITLE and getattr(item, "children", None):
            for child in item.children:
                source = getattr(getattr(child, "file", None), "src_uri", None)
                if source and source != INDEX:
                    _pages.append((child.title or source, source))
    return nav


def render_list(pages: list[tuple[str, str]]) -> str:
    """Markdown bullets linking each page, relative to the guide's index page."""
    if not pages:
        return "No topic page is written yet."
    base = posixpath.dirname(INDEX)
    return "\n".join(f"- [{title}]({posixpath.relpath(source, base)})" for title, source in pages)


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    """mkdocs event: fill in the list on the guide's index page only."""
    if page.file.src_uri != INDEX:
        return markdown
    return markdown.replace(MARKER, render_list(_pages))
