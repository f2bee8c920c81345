"""griffe extension: show reST roles in docstrings as Markdown code.

The packages' docstrings are Google style and rendered as Markdown, but Sphinx habits
creep in: ``:class:`~processing_core.Process``` would show up on the page verbatim.
This extension rewrites each role to a code span of the name it points at (``Process``),
before mkdocstrings renders the docstring.  Configured in ``mkdocs.yml``.
"""

from __future__ import annotations

import re
from typing import Any

from griffe import Extension, Object

ROLE = re.compile(r":(?:py:)?(?:class|func|meth|attr|mod|exc|data|obj|const|ref):`(?P<target>[^`]+)`")


def _shown(target: str) -> str:
    """What Sphinx would show: the explicit title, or the last component after ``~``."""
    titled = re.fullmatch(r"(?P<title>.+?)\s*<[^>]+>", target)
    if titled:
        return titled.group("title")
    if target.startswith("~"):
        return target[1:].rsplit(".", 1)[-1]
    return target.lstrip("!")


def rewrite_roles(text: str) -> str:
    """Replace every reST role in ``text`` with a Markdown code span."""
    return ROLE.sub(lambda match: f"`{_shown(match.group('target'))}`", text)


class RestRolesAsCode(Extension):
    """Rewrite reST roles in every docstring griffe loads."""

    def on_instance(self, *, obj: Object, **kwargs: Any) -> None:
        """Called for each object griffe builds: modules, classes, functions, attributes."""
        if obj.docstring is not None:
            obj.docstring.value = rewrite_roles(obj.docstring.value)
