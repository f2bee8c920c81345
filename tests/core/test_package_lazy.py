"""The package ``__init__`` imports its names on first use (PEP 562), with nothing lost.

Each case runs in a fresh interpreter: the test process has imported everything already.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest


def run_fresh(code: str, tmp_path: Path) -> str:
    script = tmp_path / "fresh.py"  # a file, so that a spawned child can re-create __main__
    script.write_text(textwrap.dedent(code))
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.mark.timeout(90)
def test_import_is_light_and_every_public_name_resolves(tmp_path):
    out = run_fresh(
        """
        import sys
        import processing_core
        heavy = [m for m in ("processing_core.connection", "processing_core._shared_memory", "hmac", "socket")
                 if m in sys.modules]
        print(heavy)
        missing = [name for name in processing_core.__all__ if not hasattr(processing_core, name)]
        print(missing, set(processing_core.__all__) <= set(dir(processing_core)))
        from processing_core import Pipe, SharedMemory, connection, shared_memory
        print(Pipe is connection.Pipe, SharedMemory is shared_memory.SharedMemory)
        try:
            processing_core.no_such_name
        except AttributeError as exc:
            print(exc)
        """,
        tmp_path,
    )
    assert out.splitlines() == [
        "[]",
        "[] True",
        "True True",
        "module 'processing_core' has no attribute 'no_such_name'",
    ]


@pytest.mark.timeout(90)
def test_context_methods_of_core_modules_work_before_those_modules_are_imported(tmp_path):
    out = run_fresh(
        """
        import processing_core
        ctx = processing_core.get_context("fork")
        reader, writer = ctx.Pipe(duplex=False)
        writer.send("hello")
        print(reader.recv(), ctx.RawValue("i", 7).value)
        reader.close(); writer.close()
        """,
        tmp_path,
    )
    assert out == "hello 7"


@pytest.mark.timeout(90)
def test_a_socket_argument_reaches_a_spawned_child_without_importing_connections(tmp_path):
    out = run_fresh(
        """
        import socket
        import processing_core

        def send_hello(sock):
            sock.sendall(b"hello")

        if __name__ == "__main__":
            here, there = socket.socketpair()
            p = processing_core.get_context("spawn").Process(target=send_hello, args=(there,))
            p.start()
            p.join()
            here.settimeout(30)
            print(p.exitcode, here.recv(5).decode() if p.exitcode == 0 else "")
            here.close(); there.close()
        """,
        tmp_path,
    )
    assert out == "0 hello"


@pytest.mark.timeout(90)
def test_a_failing_import_behind_a_name_is_reported_as_such(tmp_path):
    out = run_fresh(
        """
        import sys
        import types

        # A module whose import stopped half-way (a circular import, or a native library
        # that lacks a symbol) must not read as "processing_core has no attribute ...".
        sys.modules["processing_core._ring"] = types.ModuleType("processing_core._ring")
        try:
            from processing_core import BrokenRingError
        except ImportError as exc:
            print(type(exc).__name__, "processing_core._ring" in str(exc))
        """,
        tmp_path,
    )
    assert out == "ImportError True"
