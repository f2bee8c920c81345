"""Run the benchmarks: ``python benchmarks/run.py [--quick | --smoke] [--only PATTERN] [--pin MODE]``.

Writes the results as JSON (``benchmarks/results/<mode>.json`` by default), prints a table,
draws the charts and writes the docs' Benchmarks page (``docs/benchmarks.md`` and
``docs/benchmarks/*.png``) for quick and full runs.  A smoke run (tiny sizes, one
repetition) only proves that the pipeline works, and a run of some workloads (``--only``)
is not the whole set: both write into a temporary directory unless told otherwise.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make `benchmarks` importable
    sys.path.insert(0, str(ROOT))

from benchmarks import (  # noqa: E402
    charts,
    machine,
    managers,
    pipes,
    pool_dask,
    pools,
    primitives,
    processes,
    queues,
    report,
    shared,
)
from benchmarks.common import Scale  # noqa: E402
from benchmarks.harness import Workload, run_workload  # noqa: E402
from benchmarks.results import SCHEMA, validate, workload_document  # noqa: E402
from benchmarks.targets import evaluate  # noqa: E402

FAMILIES = (processes, pipes, queues, primitives, shared, managers, pools, pool_dask)
DEFAULTS = {  # mode -> (repetitions, warm-up rounds, seconds allowed per sample)
    "full": (5, 1, 120.0),
    "quick": (3, 1, 60.0),
    "smoke": (1, 0, 30.0),
}
PINNED_SUFFIX = "@1cpu"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_const", dest="mode", const="quick", help="a short look (~2 minutes)")
    mode.add_argument("--smoke", action="store_const", dest="mode", const="smoke", help="tiny sizes: prove it runs")
    parser.set_defaults(mode="full")
    parser.add_argument("--only", metavar="PATTERN", help="run the workloads whose id matches this regular expression")
    parser.add_argument(
        "--pin",
        choices=("auto", "off", "all"),
        default="auto",
        help="auto: run the wake-up-bound workloads both on all CPUs and pinned to one CPU (labelled @1cpu); "
        "off: never pin; all: run every workload pinned to one CPU",
    )
    parser.add_argument("--repetitions", type=int, help="measured rounds per workload (default by mode)")
    parser.add_argument("--warmup", type=int, help="unmeasured rounds first (default by mode)")
    parser.add_argument("--timeout", type=float, help="seconds allowed for one sample before the row fails")
    parser.add_argument("--output", type=Path, help="the results JSON (default benchmarks/results/<mode>.json)")
    parser.add_argument("--docs-dir", type=Path, help="where benchmarks.md and benchmarks/*.png go (default docs/)")
    parser.add_argument("--no-docs", action="store_true", help="write no charts and no docs page")
    parser.add_argument("--conditions", default="", help="free text: what else the machine was doing")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="exit 1 if a row of the standard library, an anchor or the OS floor failed (CI: those rows prove the "
        "harness works; failed processing rows are reported, not fatal)",
    )
    parser.add_argument("--list", action="store_true", help="list the workload ids and exit")
    parser.add_argument(
        "--render",
        type=Path,
        metavar="JSON",
        help="measure nothing: redraw the report, charts and page from a results file",
    )
    return parser.parse_args(argv)


def select(scale: Scale, pin: str, only: str | None) -> list[Workload]:
    """Every workload of every family, with pinned copies as asked, filtered by ``only``."""
    chosen = []
    for family in FAMILIES:
        for workload in family.workloads(scale):
            variants = []
            if pin != "all":
                variants.append(workload)
            if pin == "all" or (pin == "auto" and workload.pin_variants):
                variants.append(
                    dataclasses.replace(
                        workload,
                        id=workload.id + PINNED_SUFFIX,
                        title=workload.title + " (pinned to one CPU)",
                        pinned=True,
                    )
                )
            chosen += [w for w in variants if only is None or re.search(only, w.id)]
    return chosen


def measure(args: argparse.Namespace) -> dict:
    scale = Scale(args.mode)
    repetitions, warmup, timeout = DEFAULTS[args.mode]
    repetitions = args.repetitions or repetitions
    warmup = warmup if args.warmup is None else args.warmup
    timeout = args.timeout or timeout
    started = time.perf_counter()
    document = {
        "schema": SCHEMA,
        "mode": args.mode,
        "date": machine.now(),
        "machine": machine.machine(),
        "python": machine.python_info(),
        "versions": machine.versions(),
        "anchors": machine.anchors(),
        "git": machine.git(),
        "conditions": args.conditions,
        "options": {
            "repetitions": repetitions,
            "warmup": warmup,
            "timeout": timeout,
            "pin": args.pin,
            "only": args.only,
        },
    }
    cores = document["machine"]["cores_usable"]
    workloads = select(scale, args.pin, args.only)
    done = []
    for index, workload in enumerate(workloads, 1):
        print(f"[{index}/{len(workloads)} {time.perf_counter() - started:6.1f}s] {workload.id}", flush=True)
        rows = run_workload(workload, repetitions, warmup, timeout, log=lambda line: print(line, flush=True))
        done.append(workload_document(workload, rows, cores))
    document["machine"]["load_average_at_end"] = list(os.getloadavg())
    document["duration_seconds"] = round(time.perf_counter() - started, 1)
    document["workloads"] = done
    document["targets"] = evaluate(done, cores)
    return document


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    # Children started by spawn, forkserver or loky import the task functions from `benchmarks`.
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    if args.list:
        for workload in select(Scale(args.mode), args.pin, args.only):
            print(f"{workload.id:<34} {workload.title}")
        return 0
    # A smoke run or a partial one (--only) must not overwrite the committed results or docs,
    # which hold a whole run: by default they write to a temporary directory.
    partial = args.mode == "smoke" or args.only is not None
    needs_scratch = partial and (args.output is None or (args.docs_dir is None and not args.no_docs))
    scratch = Path(tempfile.mkdtemp(prefix=f"bench-{args.mode}-")) if needs_scratch else None
    output = args.output or (
        scratch / f"{args.mode}.json" if scratch else ROOT / "benchmarks" / "results" / f"{args.mode}.json"
    )
    docs_dir = args.docs_dir or (scratch / "docs" if scratch else ROOT / "docs")
    if args.render:
        document = json.loads(args.render.read_text())
        output = args.render
    else:
        document = measure(args)
    problems = validate(document)
    if problems:
        print("results document is malformed:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 1
    if not args.render:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(json.dumps(document, indent=1) + "\n")
    print(report.text_report(document))
    print(f"\nresults: {output}")
    if not args.no_docs:
        drawn = charts.draw_all(document, docs_dir / "benchmarks")
        missing = [name for name in drawn.values() if not (docs_dir / "benchmarks" / name).is_file()]
        if missing:
            print(f"charts not written: {missing}", file=sys.stderr)
            return 1
        page = report.markdown_report(document, {title: f"benchmarks/{name}" for title, name in drawn.items()})
        (docs_dir / "benchmarks.md").write_text(page + "\n")
        print(f"docs page: {docs_dir / 'benchmarks.md'} ({len(drawn)} charts)")
    failed = [
        f"{w['id']}/{r['impl']}: {r['reason']}"
        for w in document["workloads"]
        for r in w["rows"]
        if r["status"] == "error"
    ]
    if failed:
        print(f"{len(failed)} row(s) failed:\n  " + "\n  ".join(failed), file=sys.stderr)
        if args.strict and any(not line.startswith(_processing_rows(document)) for line in failed):
            return 1
    return 0


def _processing_rows(document: dict) -> tuple[str, ...]:
    """Prefixes of the failure lines that belong to `processing` rows."""
    return tuple(f"{w['id']}/processing:" for w in document["workloads"])


if __name__ == "__main__":
    sys.exit(main())
