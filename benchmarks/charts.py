"""Charts for the docs page (PNG, matplotlib): speed-ups by family, and the scaling series."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

# One colour per implementation, stable across charts.
COLOURS = {
    "processing": "#d62728",
    "multiprocessing": "#1f77b4",
    "faster-fifo": "#2ca02c",
    "mpire": "#9467bd",
    "loky": "#8c564b",
    "concurrent.futures": "#e377c2",
    "billiard": "#7f7f7f",
    "serial": "#bcbd22",
    # the raw OS floor
    "os.pipe": "#17becf",
    "socketpair": "#ff7f0e",
    "os.fork": "#17becf",
    "python -c pass": "#ff7f0e",
    "memcpy": "#17becf",
}
FLOOR_COLOUR = "#000000"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _colour(impl: str) -> str:
    return COLOURS.get(impl, FLOOR_COLOUR)


def family_chart(family: str, workloads: list[dict[str, Any]], path: Path) -> None:
    """Horizontal grouped bars: each workload's speed-up per implementation, log scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    from matplotlib.transforms import blended_transform_factory as blend

    impls: list[str] = []
    for workload in workloads:
        impls += [row["impl"] for row in workload["rows"] if row["impl"] not in impls]
    height = 0.8 / max(len(impls), 1)
    figure, axes = plt.subplots(figsize=(10, 1.2 + 0.16 * len(workloads) * max(len(impls), 3)))
    labels = []
    for index, workload in enumerate(workloads):
        labels.append(f"{workload['id']} [{workload['cpus']}]")
        for position, impl in enumerate(impls):
            row = next((r for r in workload["rows"] if r["impl"] == impl), None)
            if row is None:
                continue
            if row["speedup"] is None:  # say why there is no bar rather than leave a silent gap
                where = blend(axes.transAxes, axes.transData)
                label = f"{impl}: {row['status']}"
                axes.text(
                    0.005, index + position * height, label, transform=where, fontsize=6, color="dimgray", va="center"
                )
                continue
            axes.barh(index + position * height, row["speedup"], height, color=_colour(impl))
    handles = []
    for impl in impls:
        statuses = {r["status"] for w in workloads for r in w["rows"] if r["impl"] == impl}
        suffix = "" if "ok" in statuses else f" ({', '.join(sorted(statuses))})"
        handles.append(Patch(color=_colour(impl), label=impl + suffix))
    axes.set_yticks([i + 0.4 - height / 2 for i in range(len(workloads))], labels, fontsize=8)
    axes.invert_yaxis()
    axes.set_xscale("log")
    axes.axvline(1.0, color="black", linewidth=0.8)
    others = sorted({f"{w['id']}: {w['baseline']}" for w in workloads if w["baseline"] != "multiprocessing"})
    against = "multiprocessing" + (f" ({'; '.join(others)})" if others else "")
    axes.set_xlabel(f"speed-up against {against}, log scale")
    axes.set_title(f"{family}: speed-up (higher is faster)")
    axes.legend(handles=handles, fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def series_chart(name: str, workloads: list[dict[str, Any]], path: Path) -> None:
    """Lines: throughput of each implementation against the series' x (size, workers, tasks)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(7, 4))
    use_bytes = all(w["bytes_per_unit"] for w in workloads)
    impls = []
    for workload in workloads:
        impls += [row["impl"] for row in workload["rows"] if row["impl"] not in impls]
    for impl in impls:
        points = []
        for workload in sorted(workloads, key=lambda w: w["series"][1]):
            row = next((r for r in workload["rows"] if r["impl"] == impl and r["status"] == "ok"), None)
            if row is not None:
                points.append((workload["series"][1], row["bytes_per_second"] if use_bytes else row["per_second"]))
        if points:
            axes.plot([x for x, _ in points], [y for _, y in points], marker="o", label=impl, color=_colour(impl))
    axes.set_xscale("log", base=2)
    axes.set_yscale("log")
    axes.set_xlabel(name.rsplit(" by ", maxsplit=1)[-1])
    axes.set_ylabel("bytes per second" if use_bytes else f"{workloads[0]['unit']}s per second")
    axes.set_title(name)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def draw_all(document: dict[str, Any], directory: Path) -> dict[str, str]:
    """Every chart into ``directory``; returns title -> file name, in page order."""
    directory.mkdir(parents=True, exist_ok=True)
    charts: dict[str, str] = {}
    families: dict[str, list[dict[str, Any]]] = {}
    series: dict[str, list[dict[str, Any]]] = {}
    for workload in document["workloads"]:
        if workload["series"] and workload["cpus"].startswith("all"):
            series.setdefault(workload["series"][0], []).append(workload)
        families.setdefault(workload["family"], []).append(workload)
    for family, members in families.items():
        name = f"family-{_slug(family)}.png"
        family_chart(family, members, directory / name)
        charts[f"{family}: speed-up"] = name
    for title, members in series.items():
        name = f"series-{_slug(title)}.png"
        series_chart(title, members, directory / name)
        charts[title] = name
    return charts
