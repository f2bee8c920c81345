"""``python -m processing``: a tour of ``processing``.

Shows what is installed (the packages' versions and the native core's build), runs the
four examples of the ``processing`` 0.52 README live, then times a pipe, a queue and a
pool side by side with the standard library's ``multiprocessing`` and prints a table of
the ratios.  Each measurement runs in an interpreter of its own.
"""

from __future__ import annotations

import argparse
import importlib
import platform
import subprocess
import sys
from collections.abc import Callable, Sequence

PACKAGES = ("processing", "processing_core", "processing_sync", "processing_pool", "processing_managers")
LIBRARIES = ("multiprocessing", "processing")
#: Items per workload: (default, --quick).
SIZES = {"pipe": (100_000, 10_000), "queue": (100_000, 10_000), "pool": (50_000, 5_000)}
BAR_WIDTH = 30
MEASURE = "import sys; from processing._tour_bench import main; main(sys.argv[1:])"


def describe_installation() -> list[str]:
    """Return one line per package with its version, then the native core's build facts."""
    lines = []
    for name in PACKAGES:
        module = importlib.import_module(name)
        lines.append(f"{name:<22}{module.__version__}")
    core = importlib.import_module("processing_core")
    lines.append(f"{'native core':<22}{core.native_build_info()}, page size {core.page_size()} B")
    lines.append(f"{'python':<22}{platform.python_implementation()} {platform.python_version()} on {sys.platform}")
    return lines


def measure(library: str, workload: str, n: int) -> float:
    """Time one workload on one library in a fresh interpreter; return the seconds."""
    result = subprocess.run(
        [sys.executable, "-c", MEASURE, library, workload, str(n)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"the {workload} benchmark failed on {library}:\n{result.stderr}")
    return float(result.stdout.split()[-1])


def progress_bar(done: int, total: int, label: str) -> str:
    """Return a one-line text progress bar, e.g. ``[#####-----]  3/12 pipe on processing``."""
    filled = BAR_WIDTH * done // total
    return f"[{'#' * filled}{'-' * (BAR_WIDTH - filled)}] {done:>2}/{total} {label}"


def run_benchmark(
    workloads: Sequence[str], repeat: int, quick: bool, show: Callable[[str], None]
) -> dict[tuple[str, str], float]:
    """Best-of-``repeat`` throughput (items/s) of each workload on each library."""
    steps = [(w, lib) for w in workloads for _ in range(repeat) for lib in LIBRARIES]
    best: dict[tuple[str, str], float] = {}
    for done, (workload, library) in enumerate(steps):
        show(progress_bar(done, len(steps), f"{workload} on {library}"))
        n = SIZES[workload][1 if quick else 0]
        rate = n / max(measure(library, workload, n), 1e-9)
        best[workload, library] = max(rate, best.get((workload, library), 0.0))
    show(progress_bar(len(steps), len(steps), "done"))
    return best


def ratio_table(best: dict[tuple[str, str], float], workloads: Sequence[str]) -> list[str]:
    """Format the results: items/s on each library and processing's ratio to multiprocessing."""
    lines = [f"{'workload':<10}{'multiprocessing':>18}{'processing':>14}{'ratio':>9}"]
    for workload in workloads:
        theirs, ours = best[workload, "multiprocessing"], best[workload, "processing"]
        lines.append(f"{workload:<10}{theirs:>14,.0f}/s{ours:>12,.0f}/s{ours / theirs:>8.2f}x")
    lines.append("items per second, best of the runs; ratio > 1 means processing is faster")
    return lines


def _show_progress(line: str) -> None:
    stream = sys.stderr
    if stream.isatty():
        stream.write("\r" + line + ("\n" if line.endswith("done") else ""))
    else:
        stream.write(line + "\n")
    stream.flush()


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m processing",
        description="A tour of processing: the installation, the 0.52 README's examples run live, "
        "and a side-by-side benchmark against the standard library's multiprocessing.",
    )
    parser.add_argument("--info", action="store_true", help="only report the installation and native build")
    parser.add_argument("--no-examples", action="store_true", help="skip the README examples")
    parser.add_argument("--no-benchmark", action="store_true", help="skip the benchmark")
    parser.add_argument("--quick", action="store_true", help="a benchmark ten times smaller, one run each")
    parser.add_argument("--repeat", type=int, default=2, metavar="N", help="runs per measurement (default 2)")
    parser.add_argument(
        "--workloads",
        default="pipe,queue,pool",
        metavar="LIST",
        help="comma-separated workloads to time (default: pipe,queue,pool)",
    )
    args = parser.parse_args(argv)
    args.workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    unknown = [w for w in args.workloads if w not in SIZES]
    if unknown:
        parser.error(f"unknown workload(s) {', '.join(unknown)}: choose from {', '.join(SIZES)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.quick:
        args.repeat = 1
    return args


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m processing``."""
    args = parse_args(argv)
    print("\n".join(describe_installation()))
    if args.info:
        return 0
    if not args.no_examples:
        from processing import _tour

        print("\n== The examples of the processing 0.52 README, run live\n")
        print("\n".join(_tour.run_examples()))
    if not args.no_benchmark and args.workloads:
        print("\n== Side by side with the standard library\n", flush=True)
        try:
            best = run_benchmark(args.workloads, args.repeat, args.quick, _show_progress)
        except (RuntimeError, subprocess.TimeoutExpired) as exc:
            print(f"\nthe benchmark could not run: {exc}", file=sys.stderr)
            return 1
        print("\n".join(ratio_table(best, args.workloads)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
