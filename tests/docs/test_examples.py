"""Every example on the documentation site runs, so the docs cannot rot.

* A fenced ``python`` block is written to a file in a fresh temporary directory and run
  as ``__main__`` by this interpreter in a subprocess, with a timeout: each block stands
  alone, and start methods that import the main module (spawn, forkserver) work.
* A fenced ``pycon`` block (``>>>`` lines and their expected output) runs as a doctest in
  a subprocess, in that process's ``__main__`` namespace, with ``ELLIPSIS`` on (write
  ``0x...`` for addresses).
* ``text``, ``console``, ``bash`` and other languages are never run.  Every fence must name
  its language, so no example escapes this test by accident.

Each block is its own test case, with the id ``<page>:<line of the opening fence>``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
RUN_TIMEOUT_SECONDS = 90
RUN_AS_SCRIPT = {"python", "py", "python3"}
RUN_AS_DOCTEST = {"pycon"}
FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")

DOCTEST_RUNNER = """\
import doctest
import sys

if __name__ == "__main__":
    import __main__

    path, name, lineno = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    # Run in this module's namespace, so functions defined in the session pickle by
    # reference (as in the interactive interpreter).
    test = doctest.DocTestParser().get_doctest(text, {}, name, name, lineno)
    test.globs = vars(__main__)  # DocTest copies the namespace it is given; use the real one
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    result = runner.run(test, clear_globs=False)
    if result.attempted == 0:
        print(f"{name}: the pycon block has no '>>>' example")
        sys.exit(2)
    sys.exit(1 if result.failed else 0)
"""


@dataclass(frozen=True)
class Block:
    """One fenced code block of a documentation page."""

    page: str
    line: int
    language: str
    code: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"


def _language(info: str) -> str:
    info = info.strip()
    if info.startswith("{"):
        info = info.strip("{}").strip()
    word = info.split()[0] if info else ""
    return word.lstrip(".").lower()


def extract_blocks(path: Path, root: Path = DOCS) -> list[Block]:
    """Fenced code blocks of one Markdown file (indented fences too, e.g. in admonitions)."""
    page = path.relative_to(root).as_posix()
    blocks: list[Block] = []
    lines = path.read_text(encoding="utf-8").splitlines()
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match or (match.group("fence")[0] == "`" and "`" in match.group("info")):
            index += 1
            continue
        opening, indent, start = match.group("fence"), match.group("indent"), index
        body: list[str] = []
        index += 1
        while index < len(lines):
            closing = lines[index].strip()
            if closing.startswith(opening[0] * len(opening)) and set(closing) == {opening[0]}:
                break
            body.append(lines[index][len(indent) :] if lines[index].startswith(indent) else lines[index].lstrip())
            index += 1
        blocks.append(Block(page, start + 1, _language(match.group("info")), textwrap.dedent("\n".join(body)) + "\n"))
        index += 1
    return blocks


def all_blocks() -> list[Block]:
    return [block for path in sorted(DOCS.rglob("*.md")) for block in extract_blocks(path)]


BLOCKS = all_blocks()
SCRIPTS = [block for block in BLOCKS if block.language in RUN_AS_SCRIPT]
DOCTESTS = [block for block in BLOCKS if block.language in RUN_AS_DOCTEST]


def _run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS, check=False
    )


def _report(block: Block, result: subprocess.CompletedProcess[str]) -> str:
    return (
        f"docs/{block.id}: the {block.language} block failed (exit {result.returncode})\n"
        f"--- stdout ---\n{result.stdout[-4000:]}\n--- stderr ---\n{result.stderr[-4000:]}"
    )


@pytest.mark.parametrize("block", SCRIPTS, ids=[block.id for block in SCRIPTS])
def test_python_block_runs_as_a_script(block: Block, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(block.code, encoding="utf-8")
    try:
        result = _run([sys.executable, str(script)], tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"docs/{block.id}: the python block ran longer than {RUN_TIMEOUT_SECONDS} s", pytrace=False)
    if result.returncode != 0:
        pytest.fail(_report(block, result), pytrace=False)


@pytest.mark.parametrize("block", DOCTESTS, ids=[block.id for block in DOCTESTS])
def test_pycon_block_passes_as_a_doctest(block: Block, tmp_path: Path) -> None:
    session = tmp_path / "session.txt"
    session.write_text(block.code, encoding="utf-8")
    runner = tmp_path / "run_doctest.py"
    runner.write_text(DOCTEST_RUNNER, encoding="utf-8")
    try:
        result = _run([sys.executable, str(runner), str(session), f"docs/{block.page}", str(block.line)], tmp_path)
    except subprocess.TimeoutExpired:
        pytest.fail(f"docs/{block.id}: the pycon block ran longer than {RUN_TIMEOUT_SECONDS} s", pytrace=False)
    if result.returncode != 0:
        pytest.fail(_report(block, result), pytrace=False)


def test_every_fence_names_its_language() -> None:
    unlabelled = [f"docs/{block.id}" for block in BLOCKS if not block.language]
    assert not unlabelled, (
        "fenced blocks without a language are neither run nor clearly exempt; label them "
        "python/pycon (run) or text/console/bash (not run): " + ", ".join(unlabelled)
    )


def test_the_extractor_finds_blocks_and_their_lines(tmp_path: Path) -> None:
    sample = tmp_path / "probe.md"
    sample.write_text(
        "# t\n\n```python\nprint(1)\n```\n\n!!! note\n    ```pycon\n    >>> 1 + 1\n    2\n    ```\n\n"
        "````text\n```python\nnot a block\n```\n````\n\n~~~ {.py title='x'}\nx = 1\n~~~\n",
        encoding="utf-8",
    )
    blocks = [(b.line, b.language, b.code) for b in extract_blocks(sample, root=tmp_path)]
    assert blocks == [
        (3, "python", "print(1)\n"),
        (8, "pycon", ">>> 1 + 1\n2\n"),
        (13, "text", "```python\nnot a block\n```\n"),
        (19, "py", "x = 1\n"),
    ]


def test_the_site_has_examples_to_run() -> None:
    assert SCRIPTS, "no python block found under docs/: the example runner would test nothing"
