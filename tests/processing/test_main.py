"""``python -m processing``: the installation report, the README examples live, the benchmark table."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from processing import _tour_bench
from processing.__main__ import parse_args, progress_bar, ratio_table

PACKAGES = ("processing", "processing_core", "processing_sync", "processing_pool", "processing_managers")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "processing", *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_info_reports_all_packages_and_the_native_build() -> None:
    result = run("--info")
    assert result.returncode == 0, result.stderr
    for name in PACKAGES:
        assert name in result.stdout
    assert "native core" in result.stdout
    assert "README" not in result.stdout and "Side by side" not in result.stdout


def test_help_lists_the_options() -> None:
    result = run("--help")
    assert result.returncode == 0
    assert "usage: python -m processing" in result.stdout
    for option in ("--info", "--no-examples", "--no-benchmark", "--quick", "--repeat", "--workloads"):
        assert option in result.stdout


@pytest.mark.timeout(120)
def test_the_tour_runs_the_readme_examples_and_the_benchmark() -> None:
    result = run("--quick")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for name in PACKAGES:  # the installation report is the header
        assert name in out
    assert "output: hello world" in out
    assert "<Condition(<RLock(None, 0)>, 0)>" in out
    assert "<Condition(<RLock(MainProcess, 1)>, 0)>" in out
    assert "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]" in out
    assert re.search(r"<Proxy\[list\] object at 0x[0-9a-f]+>", out)
    assert "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]" in out
    for workload in ("pipe", "queue", "pool"):
        assert re.search(rf"^{workload}\s+[\d,]+/s\s+[\d,]+/s\s+\d+\.\d\dx$", out, re.MULTILINE), out
    assert "6/6 done" in result.stderr  # the progress bar reached its end


def test_options_choose_what_runs() -> None:
    result = run("--no-examples", "--quick", "--workloads", "pipe")
    assert result.returncode == 0, result.stderr
    assert "hello world" not in result.stdout
    assert re.search(r"^pipe\s", result.stdout, re.MULTILINE)
    assert not re.search(r"^(queue|pool)\s", result.stdout, re.MULTILINE)
    skipped = run("--no-benchmark")
    assert skipped.returncode == 0, skipped.stderr
    assert "hello world" in skipped.stdout and "Side by side" not in skipped.stdout


def test_bad_options_are_refused_by_name() -> None:
    result = run("--workloads", "pipe,teleport")
    assert result.returncode == 2
    assert "teleport" in result.stderr
    assert run("--repeat", "0").returncode == 2
    with pytest.raises(SystemExit):
        parse_args(["--workloads", "nothing"])


def test_progress_bar_and_table() -> None:
    assert progress_bar(0, 4, "pipe on processing") == f"[{'-' * 30}]  0/4 pipe on processing"
    assert progress_bar(2, 4, "x").startswith(f"[{'#' * 15}{'-' * 15}]  2/4")
    table = ratio_table({("pipe", "multiprocessing"): 1000.0, ("pipe", "processing"): 2500.0}, ["pipe"])
    assert table[1].split() == ["pipe", "1,000/s", "2,500/s", "2.50x"]


def test_benchmark_workloads_refuse_unknown_names() -> None:
    with pytest.raises(ValueError, match="teleport"):
        _tour_bench.measure("processing", "teleport", 10)


@pytest.mark.parametrize("workload", _tour_bench.WORKLOADS)
def test_each_workload_runs_in_this_process(workload: str) -> None:
    assert _tour_bench.measure("processing", workload, 200) > 0


def test_a_failing_measurement_is_reported_not_raised(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import processing.__main__ as tour

    def broken(library: str, workload: str, n: int) -> float:
        raise RuntimeError(f"the {workload} benchmark failed on {library}")

    monkeypatch.setattr(tour, "measure", broken)
    assert tour.main(["--no-examples", "--quick", "--workloads", "pipe"]) == 1
    assert "the benchmark could not run: the pipe benchmark failed on multiprocessing" in capsys.readouterr().err
