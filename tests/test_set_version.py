"""scripts/set_version.py moves the one version and every sibling pin together."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load_script(root: Path):
    spec = importlib.util.spec_from_file_location("set_version", root / "scripts" / "set_version.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_set_version_rewrites_version_file_and_pins(tmp_path: Path) -> None:
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "set_version.py", tmp_path / "scripts")
    shutil.copy(ROOT / "VERSION", tmp_path / "VERSION")
    for pyproject in ROOT.glob("packages/*/pyproject.toml"):
        target = tmp_path / pyproject.relative_to(ROOT)
        target.parent.mkdir(parents=True)
        shutil.copy(pyproject, target)
    _load_script(tmp_path).set_version("7.8.9")
    assert (tmp_path / "VERSION").read_text() == "7.8.9\n"
    meta = (tmp_path / "packages" / "processing" / "pyproject.toml").read_text()
    for sibling in ("processing-core", "processing-sync", "processing-pool", "processing-managers"):
        assert f'"{sibling}==7.8.9"' in meta
    old = (ROOT / "VERSION").read_text().strip()
    for pyproject in tmp_path.glob("packages/*/pyproject.toml"):
        assert f"=={old}" not in pyproject.read_text() or old == "7.8.9"


def test_set_version_refuses_a_malformed_version(tmp_path: Path) -> None:
    import pytest

    module = _load_script(ROOT)
    with pytest.raises(SystemExit, match="not a release version"):
        module.set_version("banana")
