"""The API reference is complete: every public name of the five packages is documented.

For each package, every name in its ``__all__`` (dunder metadata such as ``__version__``
aside) must

* carry a docstring: its own ``__doc__`` (a class's own, not inherited), or else the
  attribute docstring mkdocstrings renders under it (a string literal on the line after
  ``NAME = value``: the way to document a constant or a re-exported foreign object such
  as ``threading.BrokenBarrierError``);
* appear in the built site: its anchor ``id="<package>.<name>"`` on the package's
  reference page, which mkdocstrings writes for each member it renders.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

PACKAGES = {
    "processing": "processing",
    "processing_core": "processing-core",
    "processing_sync": "processing-sync",
    "processing_pool": "processing-pool",
    "processing_managers": "processing-managers",
}
ROOT = Path(__file__).resolve().parents[2]


def public_names(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{module_name} has no __all__"
    return [name for name in exported if not (name.startswith("__") and name.endswith("__"))]


CASES = [(module_name, name) for module_name in PACKAGES for name in public_names(module_name)]


class _SectionText(HTMLParser):
    """Text of the ``doc-contents`` block that follows the element with a given id."""

    def __init__(self, anchor: str) -> None:
        super().__init__()
        self.anchor = anchor
        self.found_anchor = False
        self.depth = 0  # > 0 while inside the contents block
        self.done = False
        self.skipping = 0  # > 0 inside a class's "Bases:" line, which is not documentation
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.done:
            return
        attributes = dict(attrs)
        if attributes.get("id") == self.anchor:
            self.found_anchor = True
        elif self.depth:
            self.depth += 1 if tag == "div" else 0
            if self.skipping or "doc-class-bases" in (attributes.get("class") or "").split():
                self.skipping += 1
        elif self.found_anchor and tag == "div" and "doc-contents" in (attributes.get("class") or "").split():
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.skipping:
            self.skipping -= 1
        if self.depth and tag == "div":
            self.depth -= 1
            self.done = self.depth == 0

    def handle_data(self, data: str) -> None:
        if self.depth and not self.done and not self.skipping:
            self.text.append(data)


def _has_own_docstring(obj: object) -> bool:
    """A class's own docstring, or a function's or module's; values have none of their own."""
    if inspect.isclass(obj):
        return bool((obj.__dict__.get("__doc__") or "").strip())
    if inspect.ismodule(obj) or callable(obj):
        return bool((getattr(obj, "__doc__", None) or "").strip())
    return False


def rendered_docstring(html: str, anchor: str) -> str:
    parser = _SectionText(anchor)
    parser.feed(html)
    return "".join(parser.text).strip()


@pytest.fixture(scope="module")
def reference_pages(built_site: Path) -> dict[str, str]:
    pages = {}
    for module_name, page in PACKAGES.items():
        path = built_site / "reference" / page / "index.html"
        assert path.exists(), f"the reference page for {module_name} was not built: {path}"
        pages[module_name] = path.read_text(encoding="utf-8")
    return pages


@pytest.mark.parametrize(("module_name", "name"), CASES, ids=[f"{m}.{n}" for m, n in CASES])
def test_public_name_is_documented_and_rendered(module_name: str, name: str, reference_pages: dict[str, str]) -> None:
    module = importlib.import_module(module_name)
    assert hasattr(module, name), f"{module_name}.__all__ lists {name!r}, which the module does not define"
    obj = getattr(module, name)
    html = reference_pages[module_name]
    anchor = f"{module_name}.{name}"
    assert f'id="{anchor}"' in html, (
        f"{anchor} is in __all__ but not rendered on docs/reference/{PACKAGES[module_name]}.md "
        "(mkdocstrings wrote no anchor for it)"
    )
    assert _has_own_docstring(obj) or rendered_docstring(html, anchor), (
        f"{anchor} has no docstring: give it one, or (for a constant or a re-exported foreign object) "
        "put a string literal on the line after its assignment"
    )


REST_ROLE = re.compile(r":(?:class|func|meth|attr|mod|exc|data|obj):(?:`|<code>)")


@pytest.mark.parametrize("module_name", list(PACKAGES))
def test_reference_shows_no_raw_rest_roles(module_name: str, reference_pages: dict[str, str]) -> None:
    """Docstrings are Markdown here: a reST role such as :class:`X` would show up raw on the page."""
    raw = sorted(set(REST_ROLE.findall(reference_pages[module_name])))
    assert not raw, (
        f"the {module_name} reference shows reST roles as raw text ({raw}): write `Name` (or [Name][] "
        "for a link) in its docstrings instead"
    )


def test_every_package_has_a_reference_page() -> None:
    nav_pages = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for module_name, page in PACKAGES.items():
        source = ROOT / "docs" / "reference" / f"{page}.md"
        assert source.exists(), f"no reference page for {module_name}"
        assert f"::: {module_name}" in source.read_text(encoding="utf-8")
        assert f"reference/{page}.md" in nav_pages


def test_section_text_reads_only_the_named_members_contents() -> None:
    html = (
        '<div><h2 id="m.A">A</h2><div class="doc doc-contents"><p>Doc of A.</p><div>inner</div></div></div>'
        '<div><h2 id="m.B">B</h2><div class="doc doc-contents "></div></div>'
        '<div><h2 id="m.C">C</h2><div class="doc doc-contents"><p class="doc doc-class-bases">Bases: '
        "<code>E</code></p></div></div>"
        '<div><h2 id="m.D">D</h2><div class="doc doc-contents"><p>Doc of D.</p></div></div>'
    )
    texts = {anchor: rendered_docstring(html, anchor) for anchor in ("m.A", "m.B", "m.C", "m.D")}
    assert texts == {"m.A": "Doc of A.inner", "m.B": "", "m.C": "", "m.D": "Doc of D."}


def test_rest_roles_are_rewritten_as_code() -> None:
    spec = importlib.util.spec_from_file_location("griffe_rest_roles", ROOT / "docs_hooks" / "griffe_rest_roles.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = "See :class:`~processing_core.Process`, :func:`os.fork`, :meth:`the pool <Pool.map>` and ``x``."
    assert module.rewrite_roles(text) == "See `Process`, `os.fork`, `the pool` and ``x``."
