"""The user guide's index page lists the guide pages of the nav (docs_hooks/guide_index.py)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]


def _load_hook():
    spec = importlib.util.spec_from_file_location("guide_index_hook", ROOT / "docs_hooks" / "guide_index.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _page(title: str, src_uri: str) -> SimpleNamespace:
    return SimpleNamespace(title=title, file=SimpleNamespace(src_uri=src_uri), children=None)


def test_the_index_lists_the_guide_section_of_the_nav() -> None:
    hook = _load_hook()
    guide = SimpleNamespace(
        title="User guide",
        children=[_page("User guide", "guide/index.md"), _page("Queues", "guide/queues.md")],
    )
    other = SimpleNamespace(title="Home", children=None, file=SimpleNamespace(src_uri="index.md"))
    hook.on_nav(SimpleNamespace(items=[other, guide]))
    index = _page("User guide", "guide/index.md")
    assert hook.on_page_markdown(f"a\n{hook.MARKER}\nb", page=index) == "a\n- [Queues](queues.md)\nb"
    elsewhere = _page("Home", "index.md")
    assert hook.on_page_markdown(hook.MARKER, page=elsewhere) == hook.MARKER


def test_the_index_page_has_the_marker() -> None:
    hook = _load_hook()
    assert hook.MARKER in (ROOT / "docs" / hook.INDEX).read_text(encoding="utf-8")
