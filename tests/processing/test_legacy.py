"""0.52 code runs: a program written with the 0.52 names, under every start method."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

PROGRAM = Path(__file__).parent / "legacy" / "ex_052.py"
EXPECTED = [
    "MainProcess True []",
    "<Process(Worker, initial daemon)> True None",
    "('Worker', 49) True",
    "<Process(Worker, stopped daemon)> False 0",
    "empty",
    "one",
    "16",
    "[0, 1, 4, 9, 16]",
    "[0, 1, 4, 9, 16]",
    "True 3",
    "5 True",
    "b'SHOUT'",
    "Namespace(x=10) [1, 2] 1",
    "done []",
]


@pytest.mark.parametrize("start_method", ["fork", "spawn", "forkserver"])
def test_a_0_52_program_runs(start_method: str) -> None:
    result = subprocess.run(
        [sys.executable, str(PROGRAM), start_method], capture_output=True, text=True, timeout=110, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == EXPECTED, result.stderr


def test_the_0_52_readme_examples_are_doctests_on_the_compatibility_page() -> None:
    page = (Path(__file__).resolve().parents[2] / "docs" / "guide" / "compatibility.md").read_text()
    for line in (
        ">>> print(c)\n<Condition(<RLock(None, 0)>, 0)>",
        ">>> l.reverse()\n>>> print(l)\n[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]\n",
        ">>> print(repr(l))\n<Proxy[list] object at 0x...>",
        ">>> result = p.mapAsync(f, range(10))\n>>> print(result.get(timeout=1))",
        "p = Process(target=f, args=[q])",
    ):
        assert line in page
    assert page.count("```pycon") >= 3
