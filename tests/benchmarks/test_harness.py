"""The benchmark harness's own logic: schedule, statistics, ratios, availability, JSON shape.

No timing is asserted here: the harness is run on stand-in cases whose "elapsed time" is
whatever they return.
"""

from __future__ import annotations

import json
import os
import sys
import time
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks import common, harness, report, results, run, targets  # noqa: E402
from benchmarks.harness import ERROR, NOT_INSTALLED, NOT_YET, OK, Case, Workload  # noqa: E402


def fixed_case(impl, seconds, log, units=10):
    def body():
        log.append(impl)
        return seconds

    return Case(impl, body, units)


def test_schedule_interleaves_implementations_round_by_round():
    order = harness.schedule(["a", "b", "c"], repetitions=2, warmup=1)
    assert order == [(-1, "a"), (-1, "b"), (-1, "c"), (0, "a"), (0, "b"), (0, "c"), (1, "a"), (1, "b"), (1, "c")]


@pytest.mark.parametrize(("repetitions", "warmup"), [(0, 0), (-1, 0), (1, -1)])
def test_schedule_rejects_bad_counts(repetitions, warmup):
    with pytest.raises(ValueError, match=r"repetitions|warmup"):
        harness.schedule(["a"], repetitions, warmup)


def test_run_workload_runs_cases_interleaved_and_drops_warmup():
    log = []
    workload = Workload("w", "f", "t", "op", [fixed_case("multiprocessing", 2.0, log), fixed_case("x", 1.0, log)])
    rows = harness.run_workload(workload, repetitions=3, warmup=1, timeout=30)
    assert log == ["multiprocessing", "x"] * 4
    by_impl = {row.impl: row for row in rows}
    assert by_impl["x"].samples == [0.1, 0.1, 0.1]  # 1.0 s over 10 units, warm-up not kept
    assert by_impl["x"].speedup == pytest.approx(2.0)
    assert by_impl["multiprocessing"].speedup == pytest.approx(1.0)


def test_percentiles_and_summary():
    assert harness.percentile([4.0, 1.0, 3.0, 2.0], 0.5) == pytest.approx(2.5)
    assert harness.percentile([1.0, 2.0, 3.0, 4.0], 0.25) == pytest.approx(1.75)
    assert harness.percentile([5.0], 0.75) == 5.0
    summary = harness.summarize([3.0, 1.0, 2.0])
    assert summary == {"median": 2.0, "q1": 1.5, "q3": 2.5, "min": 1.0, "max": 3.0, "n": 3.0}
    with pytest.raises(ValueError, match="no values"):
        harness.percentile([], 0.5)


def test_speedups_are_against_the_baseline_median_and_absent_without_it():
    rows = [harness.Row("multiprocessing", OK, 1), harness.Row("processing", OK, 1), harness.Row("y", NOT_YET, 1)]
    rows[0].stats, rows[1].stats = {"median": 3.0}, {"median": 1.5}
    harness.add_speedups(rows)
    assert [row.speedup for row in rows] == [1.0, 2.0, None]
    harness.add_speedups(rows[1:])  # no baseline row in the run: no ratio is invented
    assert rows[1].speedup is None


def test_a_failing_case_is_reported_and_the_others_still_run():
    log = []

    def broken():
        raise RuntimeError("boom")

    workload = Workload("w", "f", "t", "op", [fixed_case("multiprocessing", 1.0, log), Case("bad", broken, 1)])
    rows = harness.run_workload(workload, repetitions=2, warmup=0, timeout=30)
    assert rows[1].status == ERROR and "RuntimeError: boom" in rows[1].reason
    assert log == ["multiprocessing", "multiprocessing"]
    assert rows[1].speedup is None and rows[1].samples == []


def test_a_sample_that_overruns_is_stopped_and_reported():
    workload = Workload("w", "f", "t", "op", [Case("slow", lambda: time.sleep(30) or 0.0, 1)])
    rows = harness.run_workload(workload, repetitions=1, warmup=0, timeout=0.2)
    assert rows[0].status == ERROR and "CaseTimeout" in rows[0].reason


@pytest.fixture
def bare_processing(monkeypatch):
    """A `processing` module that exports none of the names the workloads need."""
    module = types.ModuleType("processing")
    monkeypatch.setitem(sys.modules, "processing", module)
    return module


def test_missing_processing_names_make_not_yet_available_rows(bare_processing):
    with pytest.raises(common.Missing) as caught:
        common.processing_api("Pipe", "Process", context="fork")
    assert caught.value.status == NOT_YET and "processing.get_context" in caught.value.reason
    bare_processing.get_context = lambda method: types.SimpleNamespace(Process=object)
    case = common.build(
        "processing", 5, lambda: common.processing_api("Process", "Pipe", context="fork"), lambda api: 1.0
    )
    assert (case.status, case.run) == (NOT_YET, None)
    assert case.unavailable == "missing processing.get_context('fork').Pipe"
    rows = harness.run_workload(Workload("w", "f", "t", "op", [case]), repetitions=1, warmup=0, timeout=30)
    assert rows[0].status == NOT_YET and rows[0].samples == [] and rows[0].speedup is None


def test_every_workload_has_an_unavailable_processing_row_never_a_substitute(bare_processing):
    workloads = run.select(common.Scale("smoke"), "off", None)
    families = {"processes", "pipes", "queues", "sync", "shared memory", "managers", "pools"}
    assert families <= {w.family for w in workloads}
    for workload in workloads:
        impls = [case.impl for case in workload.cases]
        assert len(impls) == len(set(impls)), workload.id
        assert workload.baseline in impls, workload.id
        ours = [case for case in workload.cases if case.impl == "processing"]
        assert len(ours) == 1, workload.id
        assert ours[0].status == NOT_YET and ours[0].run is None, workload.id
        assert ours[0].unavailable.startswith("missing processing"), workload.id


def test_an_anchor_that_does_not_import_is_not_installed(monkeypatch):
    monkeypatch.setitem(common.ANCHORS, "mpire", "no_such_module_for_the_harness_test")
    with pytest.raises(common.Missing) as caught:
        common.anchor("mpire")
    assert caught.value.status == NOT_INSTALLED and "no_such_module_for_the_harness_test" in caught.value.reason


def test_pin_modes_label_pinned_copies():
    scale = common.Scale("smoke")
    auto = {w.id: w for w in run.select(scale, "auto", r"pingpong|lock\.create")}
    assert set(auto) == {
        "pipe.pingpong.64B", "pipe.pingpong.64B@1cpu", "sync.event.pingpong", "sync.event.pingpong@1cpu",
        "sync.condition.pingpong", "sync.condition.pingpong@1cpu", "sync.lock.create",
    }  # fmt: skip
    assert auto["pipe.pingpong.64B@1cpu"].pinned and not auto["pipe.pingpong.64B"].pinned
    assert all(w.id.endswith("@1cpu") for w in run.select(scale, "all", r"lock\.create"))
    assert not any(w.pinned for w in run.select(scale, "off", None))


def _workload_doc(ours, theirs, workload_id="pipe.bytes.64B", baseline="multiprocessing"):
    rows = []
    for impl, median in ((baseline, theirs), ("processing", ours)):
        row = harness.Row(impl, OK if median else NOT_YET, 1, "" if median else "missing processing.Pipe")
        if median:
            row.samples, row.stats = [median], harness.summarize([median])
        rows.append(row)
    harness.add_speedups(rows, baseline)
    return results.workload_document(Workload(workload_id, "f", "t", "op", [], baseline=baseline), rows, 2)


def test_targets_are_met_not_met_or_not_yet_measurable():
    docs = [
        _workload_doc(1.0, 3.0, "pipe.bytes.64B"),  # 3x: meets 2.5x
        _workload_doc(1.0, 1.2, "pipe.objects.small"),  # 1.2x: misses 1.5x
        _workload_doc(None, 1.0, "pipe.pingpong.64B"),  # processing missing
        _workload_doc(1.0, 1.9, "pool.cpu_bound", baseline="serial"),  # 1.9x on 2 cores: needs 1.9x
    ]
    found = {t["target"]: t for t in targets.evaluate(docs, usable_cores=2)}
    assert found["64-byte messages one way: at least 2.5x messages/s"]["status"] == targets.MET
    assert found["pickled small objects: at least 1.5x"]["status"] == targets.NOT_MET
    assert found["pickled small objects: at least 1.5x"]["measured_speedup"] == pytest.approx(1.2)
    pingpong = found["64-byte ping-pong round trip: at most half the time"]
    assert pingpong["status"] == targets.NOT_MEASURABLE and "not yet available" in pingpong["reason"]
    assert found["CPU-bound speed-up within 5% of the core count"]["status"] == targets.MET
    assert found["64 MiB messages: at least 5x bytes/s"]["reason"] == "pipe.bytes.64MiB not in this run"
    assert {t["issue"] for t in found.values()} == {5, 6, 7, 8, 9, 10, 11, 15}


def test_a_real_run_writes_a_valid_document(tmp_path, capsys):
    output = tmp_path / "out.json"
    code = run.main(["--smoke", "--only", r"^sync\.lock\.uncontended$", "--output", str(output), "--no-docs"])
    assert code == 0
    document = json.loads(output.read_text())
    assert results.validate(document) == []
    assert [w["id"] for w in document["workloads"]] == ["sync.lock.uncontended"]
    rows = {row["impl"]: row for row in document["workloads"][0]["rows"]}
    assert rows["multiprocessing"]["status"] == OK and rows["multiprocessing"]["speedup"] == 1.0
    assert {"processing", "billiard"} <= set(rows)
    for key in ("cpu_model", "cores", "memory_bytes"):
        assert key in document["machine"]
    assert "commit" in document["git"] and document["python"]["version"]
    assert "Targets of the package issues" in capsys.readouterr().out


def test_validate_names_what_is_wrong():
    document = {"schema": results.SCHEMA}
    assert "missing top-level 'machine'" in results.validate(document)
    good = json.loads(json.dumps(_minimal_document()))
    assert results.validate(good) == []
    good["workloads"][0]["rows"][0]["status"] = "faked"
    assert any("has status 'faked'" in problem for problem in results.validate(good))


def _minimal_document():
    return {
        "schema": results.SCHEMA, "mode": "smoke", "date": "2026-01-01T00:00:00+00:00", "duration_seconds": 1.0,
        "machine": {"cpu_model": "x", "cores": 2, "cores_usable": 2, "memory_bytes": 1},
        "python": {"version": "3.11"}, "versions": {}, "anchors": {}, "git": {"commit": None},
        "conditions": "", "options": {}, "workloads": [_workload_doc(1.0, 2.0)], "targets": [],
    }  # fmt: skip


@pytest.mark.parametrize(("failing", "expected"), [("processing", 0), ("multiprocessing", 1)])
def test_strict_fails_on_broken_anchor_rows_not_on_processing_rows(monkeypatch, tmp_path, failing, expected):
    document = _minimal_document()
    document["machine"]["load_average_at_start"] = [0.0, 0.0, 0.0]
    for row in document["workloads"][0]["rows"]:
        if row["impl"] == failing:
            row.update(status=ERROR, reason="RuntimeError: broken", samples=[], speedup=None)
    monkeypatch.setattr(run, "measure", lambda args: document)
    output = tmp_path / "out.json"
    assert run.main(["--smoke", "--strict", "--no-docs", "--output", str(output)]) == expected
    assert json.loads(output.read_text())["workloads"][0]["rows"]


def test_a_pinned_workload_runs_on_one_cpu_and_restores_the_affinity():
    before = os.sched_getaffinity(0)
    seen = []

    def body():
        seen.append(os.sched_getaffinity(0))
        return 1.0

    workload = Workload("w@1cpu", "f", "t", "op", [Case("multiprocessing", body, 1)], pinned=True)
    harness.run_workload(workload, repetitions=2, warmup=0, timeout=30)
    assert seen == [{min(before)}, {min(before)}]
    assert os.sched_getaffinity(0) == before


def test_an_anchor_that_does_not_import_is_named_in_the_report():
    document = _minimal_document()
    document["anchors"] = {"faster-fifo": {"status": NOT_INSTALLED, "error": "ImportError: no compiler"}}
    assert "anchor faster-fifo: not installed (ImportError: no compiler)" in report.text_report(document)


def test_render_reports_a_saved_document_without_measuring(monkeypatch, tmp_path, capsys):
    saved = tmp_path / "saved.json"
    saved.write_text(json.dumps(_minimal_document()))
    monkeypatch.setattr(run, "measure", lambda args: pytest.fail("--render must not measure"))
    assert run.main(["--render", str(saved), "--no-docs"]) == 0
    assert "pipe.bytes.64B" in capsys.readouterr().out
    assert json.loads(saved.read_text()) == _minimal_document()


def test_a_self_warming_workload_gets_no_warmup_rounds():
    log = []
    workload = Workload("w", "f", "t", "op", [fixed_case("multiprocessing", 1.0, log)], self_warming=True)
    rows = harness.run_workload(workload, repetitions=2, warmup=3, timeout=30)
    assert log == ["multiprocessing", "multiprocessing"] and len(rows[0].samples) == 2
