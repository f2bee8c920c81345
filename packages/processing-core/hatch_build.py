"""Hatchling build hook: compile ``processing_core._native`` with cffi.

The hook fails the build when compilation fails, so a wheel without its native
core can never be produced by accident.  For editable installs the extension is
written next to the sources in ``src/processing_core`` so that imports find it.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
import sysconfig
import tempfile
from pathlib import Path
from typing import Any

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

PACKAGE = "processing_core"


def _load_builder(root: Path) -> Any:
    spec = importlib.util.spec_from_file_location("_processing_native_builder", root / "native" / "build_native.py")
    if spec is None or spec.loader is None:
        raise RuntimeError("processing-core: cannot load native/build_native.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class NativeBuildHook(BuildHookInterface):  # type: ignore[type-arg]
    PLUGIN_NAME = "custom"

    def initialize(self, version: str, build_data: dict[str, Any]) -> None:
        if self.target_name != "wheel":
            return
        root = Path(self.root)
        ffibuilder = _load_builder(root).make_ffibuilder()
        suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
        target_dir = root / "src" / PACKAGE
        with tempfile.TemporaryDirectory(prefix="processing-native-") as tmp:
            try:
                built = ffibuilder.compile(tmpdir=tmp, verbose=bool(os.environ.get("PROCESSING_NATIVE_VERBOSE")))
            except Exception as exc:
                raise RuntimeError(
                    "processing-core: compiling the native core failed; a C compiler and the "
                    f"Python headers are required ({type(exc).__name__}: {exc})"
                ) from exc
            so_name = f"_native{suffix}"
            destination = target_dir / so_name
            # Renamed into place, never overwritten: a process that has the old module
            # mapped (an editable install in use) must not see its code change under it.
            staged = destination.with_suffix(".staged")
            shutil.copyfile(built, staged)
            os.replace(staged, destination)
        # The .so is git-ignored, so hatchling would leave it out: include it explicitly.
        build_data["force_include"][str(destination)] = f"{PACKAGE}/{so_name}"
        build_data["pure_python"] = False
        build_data["infer_tag"] = True
        sys.stderr.write(f"processing-core: built native core {so_name}\n")
