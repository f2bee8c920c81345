"""``import processing as multiprocessing``: realistic multiprocessing programs give the same output.

Each program in ``dropin/`` is written for ``multiprocessing``.  It runs twice in a
subprocess, once as written and once with only its imports changed to ``processing``,
and the two outputs (stdout and exit status) must be equal.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROGRAMS = sorted((Path(__file__).parent / "dropin").glob("*.py"))
TIMEOUT = 100


DUMMY_PROGRAMS = sorted((Path(__file__).parent / "dropin_dummy").glob("*.py"))


def as_processing(source: str) -> str:
    """The program with its imports of multiprocessing turned into imports of processing."""
    assert "import multiprocessing\n" in source
    return source.replace("import multiprocessing\n", "import processing as multiprocessing\n").replace(
        "from multiprocessing", "from processing"
    )


def run(path: Path, start_method: str) -> tuple[int, str, str]:
    result = subprocess.run(
        [sys.executable, str(path), start_method], capture_output=True, text=True, timeout=TIMEOUT, cwd=path.parent
    )
    return result.returncode, result.stdout, result.stderr


def test_the_programs_are_there() -> None:
    assert {p.stem for p in PROGRAMS} >= {
        "workers_queues",
        "pool_callbacks",
        "manager_dict",
        "listener_client",
        "shared_arrays",
        "process_basics",
    }


def test_the_rewrite_changes_only_imports() -> None:
    source = "import sys\nimport multiprocessing\nfrom multiprocessing.connection import Client\nx = 1\n"
    assert as_processing(source) == (
        "import sys\nimport processing as multiprocessing\nfrom processing.connection import Client\nx = 1\n"
    )


@pytest.mark.slow
@pytest.mark.timeout(2 * TIMEOUT + 20)
@pytest.mark.parametrize("start_method", ["fork", "spawn", "forkserver"])
@pytest.mark.parametrize("program", PROGRAMS, ids=[p.stem for p in PROGRAMS])
def test_processing_gives_the_same_output_as_multiprocessing(
    program: Path, start_method: str, tmp_path: Path
) -> None:
    rewritten = tmp_path / program.name
    rewritten.write_text(as_processing(program.read_text()))
    expected = run(program, start_method)
    assert expected[0] == 0, f"the program fails under multiprocessing itself:\n{expected[2]}"
    got = run(rewritten, start_method)
    assert got[:2] == expected[:2], f"processing differs from multiprocessing; its stderr:\n{got[2]}"


@pytest.mark.parametrize("program", DUMMY_PROGRAMS, ids=[p.stem for p in DUMMY_PROGRAMS])
def test_processing_dummy_gives_the_same_output_as_multiprocessing_dummy(program: Path, tmp_path: Path) -> None:
    source = program.read_text()
    assert "import multiprocessing.dummy as mp\n" in source
    rewritten = tmp_path / program.name
    rewritten.write_text(source.replace("multiprocessing.dummy", "processing.dummy"))
    expected = run(program, "unused")
    assert expected[0] == 0, f"the program fails under multiprocessing.dummy itself:\n{expected[2]}"
    got = run(rewritten, "unused")
    assert got[:2] == expected[:2], f"processing.dummy differs from multiprocessing.dummy; its stderr:\n{got[2]}"
