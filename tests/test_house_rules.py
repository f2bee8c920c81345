"""The rules of the house that code review alone would let slip.

* Imports run one way: processing -> pool, managers -> sync -> core.
* No package imports the standard library's multiprocessing machinery.
* All five packages share one version, and pin their siblings to it with ==.
* Modules stay small.
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ROOT / "packages"

# import name -> (distribution directory, import names it may use among ours)
LAYERS = {
    "processing_core": ("processing-core", set()),
    "processing_sync": ("processing-sync", {"processing_core"}),
    "processing_pool": ("processing-pool", {"processing_core", "processing_sync"}),
    "processing_managers": ("processing-managers", {"processing_core", "processing_sync"}),
    "processing": (
        "processing",
        {"processing_core", "processing_sync", "processing_pool", "processing_managers"},
    ),
}
OURS = set(LAYERS)
# ``concurrent`` holds nothing but ``concurrent.futures``, so the whole namespace is out.
FORBIDDEN = {"multiprocessing", "concurrent", "_multiprocessing", "_posixshmem", "_posixsubprocess"}
MAX_MODULE_LINES = 600


def imported_modules(source: str) -> list[tuple[int, str]]:
    """Every absolute module a Python source imports, anywhere in it, with its line number."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Call) and _is_dynamic_import(node):
            found.append((node.lineno, node.args[0].value))  # type: ignore[attr-defined]
    return found


def _is_dynamic_import(node: ast.Call) -> bool:
    func = node.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return (
        name in {"import_module", "__import__"}
        and bool(node.args)
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    )


def package_sources(import_name: str) -> list[Path]:
    directory, _ = LAYERS[import_name]
    return sorted((PACKAGES / directory / "src" / import_name).rglob("*.py"))


@pytest.mark.parametrize("import_name", sorted(LAYERS))
def test_imports_run_one_way(import_name: str) -> None:
    allowed = LAYERS[import_name][1] | {import_name}
    violations = []
    for path in package_sources(import_name):
        for line, module in imported_modules(path.read_text()):
            top = module.split(".")[0]
            if top in OURS and top not in allowed:
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not violations, "imports against the arrows:\n" + "\n".join(violations)


@pytest.mark.parametrize("import_name", sorted(LAYERS))
def test_no_standard_library_multiprocessing(import_name: str) -> None:
    violations = []
    for path in package_sources(import_name):
        for line, module in imported_modules(path.read_text()):
            if module.split(".")[0] in FORBIDDEN:
                violations.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert not violations, "forbidden standard-library machinery:\n" + "\n".join(violations)


def test_the_import_checker_sees_every_form_of_import() -> None:
    source = (
        "import multiprocessing\n"
        "from concurrent.futures import Future\n"
        "def f():\n    import _posixshmem\n"
        "importlib.import_module('_multiprocessing')\n"
        "from . import sibling\n"
    )
    assert [m for _, m in imported_modules(source)] == [
        "multiprocessing",
        "concurrent.futures",
        "_posixshmem",
        "_multiprocessing",
    ]


def _pyproject(directory: str) -> dict:
    return tomllib.loads((PACKAGES / directory / "pyproject.toml").read_text())


def test_one_version_pinned_everywhere() -> None:
    version = (ROOT / "VERSION").read_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+([ab]|rc|\.dev)?\d*", version), version
    distributions = {directory for directory, _ in LAYERS.values()}
    for directory in sorted(distributions):
        project = _pyproject(directory)["project"]
        assert project["dynamic"] == ["version"], directory
        for requirement in project["dependencies"]:
            name = re.split(r"[=<>!~ ;\[]", requirement, maxsplit=1)[0]
            if name in distributions:
                assert requirement == f"{name}=={version}", f"{directory}: {requirement} is not pinned to {version}"


@pytest.mark.parametrize("import_name", sorted(LAYERS))
def test_installed_version_is_the_workspace_version(import_name: str) -> None:
    module = __import__(import_name)
    assert module.__version__ == (ROOT / "VERSION").read_text().strip()


def test_modules_stay_small() -> None:
    too_big = []
    for import_name in LAYERS:
        for path in package_sources(import_name):
            lines = len(path.read_text().splitlines())
            if lines > MAX_MODULE_LINES:
                too_big.append(f"{path.relative_to(ROOT)}: {lines} lines")
    assert not too_big, f"modules over {MAX_MODULE_LINES} lines:\n" + "\n".join(too_big)
