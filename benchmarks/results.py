"""The results document (JSON): building it from rows, and checking its shape."""

from __future__ import annotations

from typing import Any

from benchmarks.harness import Row, Workload

SCHEMA = "processing-benchmarks/1"
TOP_LEVEL = {
    "schema": str,
    "mode": str,
    "date": str,
    "duration_seconds": float,
    "machine": dict,
    "python": dict,
    "versions": dict,
    "anchors": dict,
    "git": dict,
    "conditions": str,
    "options": dict,
    "workloads": list,
    "targets": list,
}
MACHINE = ("cpu_model", "cores", "cores_usable", "memory_bytes")
WORKLOAD = {
    "id": str, "family": str, "title": str, "unit": str, "cpus": str, "baseline": str, "rows": list,
}  # fmt: skip
ROW = ("impl", "status", "reason", "note", "units", "samples", "median", "q1", "q3", "min", "max", "speedup")
STATUSES = ("ok", "not yet available", "not installed", "error")
TARGET_STATUSES = ("met", "not met", "not yet measurable")


def row_document(row: Row, bytes_per_unit: int) -> dict[str, Any]:
    stats = row.stats
    document: dict[str, Any] = {
        "impl": row.impl,
        "status": row.status,
        "reason": row.reason,
        "note": row.note,
        "units": row.units,
        "samples": row.samples,
        "median": stats.get("median"),
        "q1": stats.get("q1"),
        "q3": stats.get("q3"),
        "min": stats.get("min"),
        "max": stats.get("max"),
        "speedup": row.speedup,
        "per_second": 1 / stats["median"] if stats else None,
        "bytes_per_second": bytes_per_unit / stats["median"] if stats and bytes_per_unit else None,
    }
    return document


def workload_document(workload: Workload, rows: list[Row], usable_cores: int) -> dict[str, Any]:
    return {
        "id": workload.id,
        "family": workload.family,
        "title": workload.title,
        "unit": workload.unit,
        "bytes_per_unit": workload.bytes_per_unit,
        "cpus": "1 (pinned)" if workload.pinned else f"all ({usable_cores})",
        "baseline": workload.baseline,
        "series": list(workload.series) if workload.series else None,
        "rows": [row_document(row, workload.bytes_per_unit) for row in rows],
    }


def validate(document: dict[str, Any]) -> list[str]:
    """Problems with a results document's shape (empty when it is well-formed)."""
    problems = []
    for key, kind in TOP_LEVEL.items():
        if key not in document:
            problems.append(f"missing top-level {key!r}")
        elif not isinstance(document[key], kind) and not (kind is float and isinstance(document[key], int)):
            problems.append(f"{key!r} is {type(document[key]).__name__}, not {kind.__name__}")
    if problems:
        return problems
    if document["schema"] != SCHEMA:
        problems.append(f"schema is {document['schema']!r}, not {SCHEMA!r}")
    problems += [f"machine lacks {key!r}" for key in MACHINE if key not in document["machine"]]
    if "commit" not in document["git"]:
        problems.append("git lacks 'commit'")
    for workload in document["workloads"]:
        name = workload.get("id", "?")
        problems += [f"workload {name} lacks {key!r}" for key in WORKLOAD if key not in workload]
        for row in workload.get("rows", []):
            problems += [f"{name}/{row.get('impl')} lacks {key!r}" for key in ROW if key not in row]
            if row.get("status") not in STATUSES:
                problems.append(f"{name}/{row.get('impl')} has status {row.get('status')!r}")
            elif row["status"] == "ok" and not row.get("samples"):
                problems.append(f"{name}/{row.get('impl')} is ok without samples")
            elif row["status"] != "ok" and not row.get("reason"):
                problems.append(f"{name}/{row.get('impl')} is {row['status']} without a reason")
    for target in document["targets"]:
        if target.get("status") not in TARGET_STATUSES:
            problems.append(f"target {target.get('target')!r} has status {target.get('status')!r}")
    return problems
