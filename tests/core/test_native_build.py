"""The native core is really compiled, works, and its build fails loudly."""

from __future__ import annotations

import importlib.machinery
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import processing_core
from processing_core import _native

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "packages" / "processing-core"


def test_native_module_is_a_compiled_extension() -> None:
    assert _native.__file__.endswith(tuple(importlib.machinery.EXTENSION_SUFFIXES))


def test_page_size_is_a_power_of_two() -> None:
    size = processing_core.page_size()
    assert size >= 4096
    assert size & (size - 1) == 0


def test_monotonic_clock_never_goes_back() -> None:
    readings = [processing_core.monotonic() for _ in range(1000)]
    assert readings == sorted(readings)
    assert readings[0] > 0


def test_build_info_names_the_compiler() -> None:
    info = processing_core.native_build_info()
    assert any(name in info for name in ("gcc", "clang")), info


def test_a_broken_c_source_fails_the_wheel_build(tmp_path: Path) -> None:
    # A copy of the package, laid out as in the workspace so ../../VERSION resolves.
    package = tmp_path / "packages" / "processing-core"
    shutil.copytree(CORE, package, ignore=shutil.ignore_patterns("*.so", "build", "dist", "__pycache__"))
    shutil.copy(ROOT / "VERSION", tmp_path / "VERSION")
    (package / "native" / "broken.h").write_text("int prc_broken(void);\n")
    (package / "native" / "broken.cdef").write_text("int prc_broken(void);\n")
    (package / "native" / "broken.c").write_text("int prc_broken(void) { return syntax error here; }\n")
    script = textwrap.dedent(
        """
        from hatchling.build import build_wheel
        build_wheel("dist")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=package, capture_output=True, text=True, timeout=300
    )
    assert result.returncode != 0
    assert "compiling the native core failed" in result.stderr
    assert not list(package.glob("dist/*.whl"))
