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
    )
    return ffibuilder


if __name__ == "__main__":
    make_ffibuilder().compile(tmpdir=str(NATIVE_DIR.parent / "build"), verbose=True)
