"""Human-readable results: the printed table and the Markdown of the docs' Benchmarks page."""

from __future__ import annotations

from typing import Any

UNAVAILABLE_MARK = {"not yet available": "not yet available", "not installed": "not installed", "error": "error"}


def human_time(seconds: float) -> str:
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def human_rate(per_second: float) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if per_second >= scale:
            return f"{per_second / scale:.3g}{suffix}"
    return f"{per_second:.3g}"


def human_bytes_rate(per_second: float) -> str:
    for scale, suffix in ((2**30, "GiB/s"), (2**20, "MiB/s"), (2**10, "KiB/s")):
        if per_second >= scale:
            return f"{per_second / scale:.3g} {suffix}"
    return f"{per_second:.3g} B/s"


def row_cells(row: dict[str, Any], workload: dict[str, Any]) -> list[str]:
    """impl, median per unit, spread (IQR; min-max), throughput, speed-up."""
    if row["status"] != "ok":
        reason = f": {row['reason']}" if row["reason"] else ""
        return [row["impl"], UNAVAILABLE_MARK.get(row["status"], row["status"]) + reason, "", "", ""]
    rate = f"{human_rate(row['per_second'])} {workload['unit']}/s"
    if row.get("bytes_per_second"):
        rate += f" ({human_bytes_rate(row['bytes_per_second'])})"
    spread = (
        f"IQR {human_time(row['q1'])}-{human_time(row['q3'])}; range {human_time(row['min'])}-{human_time(row['max'])}"
    )
    speedup = f"{row['speedup']:.2f}x" if row["speedup"] is not None else "n/a"
    name = row["impl"] + (f" ({row['note']})" if row["note"] else "")
    return [name, human_time(row["median"]), spread, rate, speedup]


def text_report(document: dict[str, Any]) -> str:
    lines = [_header_line(document)]
    for name, info in document["anchors"].items():
        if info["status"] != "ok":
            lines.append(f"anchor {name}: {info['status']} ({info['error']}): its rows are marked so")
    for workload in document["workloads"]:
        lines.append("")
        lines.append(f"{workload['id']}  [{workload['cpus']} CPU]  {workload['title']}")
        lines.append(
            f"  {'implementation':<42} {'median/' + workload['unit']:>14}  {'rate':>26}  vs {workload['baseline']}"
        )
        for row in workload["rows"]:
            impl, median, _spread, rate, speedup = row_cells(row, workload)
            if row["status"] != "ok":
                lines.append(f"  {row['impl']:<42} {median}"[:160])
            else:
                lines.append(f"  {impl[:42]:<42} {median:>14}  {rate:>26}  {speedup}")
    lines.append("")
    lines.append("Targets of the package issues:")
    for target in document["targets"]:
        measured = f"{target['measured_speedup']:.2f}x" if target["measured_speedup"] is not None else "-"
        lines.append(
            f"  #{target['issue']:<3} {target['status']:<19} {measured:>7} (need {target['required_speedup']:.2f}x)"
            f"  {target['target']}" + (f"  [{target['reason']}]" if target["reason"] else "")
        )
    return "\n".join(lines)


def _header_line(document: dict[str, Any]) -> str:
    machine = document["machine"]
    return (
        f"{document['mode']} run, {document['date']}, {machine['cpu_model']}, {machine['cores_usable']} usable cores, "
        f"Python {document['python']['version']}, commit {(document['git']['commit'] or 'unknown')[:10]}"
    )


def _escape(cell: str) -> str:
    return cell.replace("|", "\\|")


def markdown_report(document: dict[str, Any], charts: dict[str, str]) -> str:
    """The body of docs/benchmarks.md: conditions, charts, targets, then every table."""
    machine = document["machine"]
    dirty = " (with uncommitted changes)" if document["git"]["dirty"] else ""
    load = "load average {:.2f} at the start, {:.2f} at the end".format(
        machine["load_average_at_start"][0], machine.get("load_average_at_end", [float("nan")])[0]
    )
    out = [
        "# Benchmarks",
        "",
        "Every workload runs for each implementation in the same run, interleaved over several",
        "repetitions; the tables give the median time per unit of work, the spread (interquartile",
        "range and extremes over the repetitions), the rate, and the speed-up against the standard",
        "library's `multiprocessing` (above 1 is faster). Rows of `processing` that its packages do",
        "not provide yet read *not yet available*. Reproduce with:",
        "",
        "```console",
        "hatch run bench:run            # full run (under 15 minutes on 2 cores)",
        "hatch run bench:run --quick    # a short look",
        "hatch run bench:run --only 'pipe\\.' --pin off   # some workloads: results go to a temporary directory",
        "scripts/isolated hatch run bench:run   # on a shared machine: a private /dev/shm",
        "```",
        "",
        "Workloads where a wake-up across CPUs dominates (ping-pong, contended locks) run twice: on",
        "all CPUs and pinned to one CPU (ids ending `@1cpu`). The raw operating-system floor rows",
        "(`os.pipe`, `socketpair`, `os.fork`, `python -c pass`, `memcpy`) show how far from the kernel",
        "each library is. Numbers depend on the machine and on what else it runs: compare rows of",
        "one run, not runs of different days.",
        "",
        "A spawned or forkserver child re-runs its parent's main module, so the start-up rows of",
        "those methods run in a small main module of their own (`benchmarks/start_driver.py`, a",
        "no-op target in a module that imports nothing); `process.start.spawn.heavy_main` starts",
        "the same children from the runner itself, whose imports every child repeats. Before the",
        "process workloads the runner writes the `.pyc` files of the libraries measured and of the",
        "benchmarks (installed packages have them; with `PYTHONDONTWRITEBYTECODE` set, children of",
        "an editable install would otherwise compile its sources at every start).",
        "",
        "| row | what runs |",
        "|---|---|",
        "| `processing` | the public names of `import processing`, looked up when the run starts |",
        "| `multiprocessing` | the standard library, fork context unless the workload names a start method |",
        "| `faster-fifo` | `faster_fifo.Queue` between standard-library fork processes (queues only) |",
        "| `concurrent.futures` | `ProcessPoolExecutor` with the fork context (pools only) |",
        "| `loky` | `loky.ProcessPoolExecutor`, loky's own start method (pools only) |",
        "| `mpire` | `WorkerPool(start_method='fork', keep_alive=True)` (pools only) |",
        "| `billiard` | Celery's fork of `multiprocessing`, fork context |",
        "| `serial` | the same CPU-bound tasks one after another in the parent |",
        "| floor | bare `os.pipe`/`socketpair` I/O between `os.fork` processes, `os.fork` + `waitpid`, "
        "`python -c pass`, `ctypes.memmove` |",
        "",
        "## Latest run",
        "",
        "| | |",
        "|---|---|",
        f"| date (UTC) | {document['date']} |",
        f"| mode | {document['mode']} ({document['options'].get('repetitions')} repetitions, "
        f"{document['options'].get('warmup')} warm-up) |",
        f"| machine | {_escape(machine['cpu_model'])}, {machine['cores']} cores "
        f"({machine['cores_usable']} usable), {machine['memory_bytes'] / 2**30:.1f} GiB |",
        f"| Python | {document['python']['implementation']} {document['python']['version']} |",
        f"| commit | `{(document['git']['commit'] or 'unknown')[:12]}`{dirty} |",
        f"| versions | {_escape(', '.join(f'{k} {v}' for k, v in document['versions'].items() if v))} |",
        f"| conditions | {_escape(document['conditions'] or 'not recorded')}; {load} |",
        f"| duration | {document['duration_seconds']:.0f} s |",
        "",
    ]
    missing = {name: info["error"] for name, info in document["anchors"].items() if info["status"] != "ok"}
    if missing:
        out += ["Anchors that could not be measured here: " + "; ".join(f"{k} ({v})" for k, v in missing.items()), ""]
    out += [
        "## Targets of the package issues",
        "",
        "| issue | target | required | measured | status |",
        "|---|---|---|---|---|",
    ]
    for target in document["targets"]:
        measured = f"{target['measured_speedup']:.2f}x" if target["measured_speedup"] is not None else "-"
        status = target["status"] + (f" ({_escape(target['reason'])})" if target["reason"] else "")
        out.append(
            f"| #{target['issue']} | {_escape(target['target'])} | {target['required_speedup']:.2f}x "
            f"vs {target['against']} | {measured} | {status} |"
        )
    out += ["", "## Charts", ""]
    for title, path in charts.items():
        out += [f"![{title}]({path})", ""]
    out += ["## All results", ""]
    for workload in document["workloads"]:
        out += [
            f"### {_escape(workload['title'])}",
            "",
            f"`{workload['id']}`, CPUs: {workload['cpus']}, speed-up against `{workload['baseline']}`.",
            "",
            f"| implementation | median per {workload['unit']} | spread | rate | speed-up |",
            "|---|---|---|---|---|",
        ]
        out += ["| " + " | ".join(_escape(c) for c in row_cells(row, workload)) + " |" for row in workload["rows"]]
        out.append("")
    return "\n".join(out)
