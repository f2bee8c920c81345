"""cffi builder for ``processing_core._native`` (API mode, out of line).

Each concern of the native core is one C file, ``native/<concern>.c``, with its
C header ``native/<concern>.h`` and the declarations cffi exposes to Python in
``native/<concern>.cdef``.  This builder collects them all, so adding a concern
means adding files, never editing this one.
"""

from __future__ import annotations

from pathlib import Path

from cffi import FFI

NATIVE_DIR = Path(__file__).resolve().parent
COMPILE_ARGS = [
    "-O2",
    "-std=gnu11",
    "-Wall",
    "-Wextra",
    "-Wno-unused-parameter",
    "-Werror=implicit-function-declaration",
]


def make_ffibuilder() -> FFI:
    """Return an FFI builder set up with every concern found in ``native/``."""
    ffibuilder = FFI()
    cdefs = sorted(NATIVE_DIR.glob("*.cdef"))
    if not cdefs:
        raise RuntimeError(f"no .cdef files in {NATIVE_DIR}")
    for cdef in cdefs:
        ffibuilder.cdef(cdef.read_text())
    headers = "".join(f'#include "{cdef.stem}.h"\n' for cdef in cdefs)
    ffibuilder.set_source(
        "processing_core._native",
        headers,
        sources=[str(path) for path in sorted(NATIVE_DIR.glob("*.c"))],
        include_dirs=[str(NATIVE_DIR)],
        extra_compile_args=COMPILE_ARGS,
        libraries=["pthread", "rt"],
        # fast_types.h uses the full C API (vectorcall, METH_FASTCALL): the module is
        # built per interpreter anyway (cp3XX wheel tags), never as abi3.
        define_macros=[("_CFFI_NO_LIMITED_API", None)],
        py_limited_api=False,
    )
    return ffibuilder


def rebuild_in_place() -> Path:
    """Compile the extension and atomically replace the one in ``src/processing_core``.

    For development after editing C sources (an editable install does not rebuild by
    itself).  Concurrent rebuilds are serialised by a lock file, and the new module is
    renamed into place, so a process importing it never sees a half-written file.
    """
    import fcntl
    import os
    import sysconfig
    import tempfile

    target = NATIVE_DIR.parent / "src" / "processing_core" / f"_native{sysconfig.get_config_var('EXT_SUFFIX')}"
    with open(NATIVE_DIR.parent / ".native-build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        with tempfile.TemporaryDirectory(prefix="processing-native-") as tmp:
            built = make_ffibuilder().compile(tmpdir=tmp)
            staged = target.with_suffix(".staged")
            os.replace(built, staged)
            os.replace(staged, target)
    return target


if __name__ == "__main__":
    print(rebuild_in_place())
