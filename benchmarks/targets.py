"""The performance targets of the package issues, and whether a run meets them.

Each target compares the ``processing`` row with another row of the same run (the standard
library unless said otherwise) by speed-up: that row's median time per unit divided by
ours.  "At most 1.1x its time" is a speed-up of at least 1/1.1.  A target whose rows are
not in the run (not yet available, failed, or not selected) is "not yet measurable".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

MET, NOT_MET, NOT_MEASURABLE = "met", "not met", "not yet measurable"


@dataclass(frozen=True)
class Target:
    issue: int
    text: str
    workloads: tuple[str, ...]  # all must meet it; the worst one is reported
    minimum: float  # required speed-up of processing over `against`
    against: str = "multiprocessing"
    per_core: bool = False  # minimum is multiplied by the usable core count
    unmeasured: str = ""  # why no workload can measure it yet


PROXY = tuple(f"manager.{k}.{w}" for w in ("parent", "child") for k in ("list.append", "dict.set", "namespace.get"))
TARGETS = (
    Target(5, "fork start + join: at most 1.1x the stdlib's time", ("process.start.fork",), 1 / 1.1),
    Target(5, "spawn start + join: at most 0.6x the stdlib's time", ("process.start.spawn",), 1 / 0.6),
    Target(5, "forkserver start + join: at most 0.8x the stdlib's time", ("process.start.forkserver",), 1 / 0.8),
    Target(6, "64-byte messages one way: at least 2.5x messages/s", ("pipe.bytes.64B",), 2.5),
    Target(6, "64 MiB messages: at least 5x bytes/s", ("pipe.bytes.64MiB",), 5.0),
    Target(6, "64-byte ping-pong round trip: at most half the time", ("pipe.pingpong.64B",), 2.0),
    Target(6, "pickled small objects: at least 1.5x", ("pipe.objects.small",), 1.5),
    Target(7, "creating 10,000 locks: at least 3x faster", ("sync.lock.create",), 3.0),
    Target(7, "creating 10,000 RawValues: at least 3x faster", ("sync.rawvalue.create",), 3.0),
    Target(7, "uncontended `with lock:`: at least 0.8x", ("sync.lock.uncontended",), 0.8),
    Target(7, "RawArray element writes from Python: parity (at least 0.95x)", ("shared.rawarray.writes",), 0.95),
    Target(8, "two processes incrementing a shared Value: at least 1.5x", ("sync.value.contended",), 1.5),
    Target(8, "Event ping-pong between two processes: at least 2x", ("sync.event.pingpong",), 2.0),
    Target(8, "Condition wait/notify: at least 1.5x", ("sync.condition.pingpong",), 1.5),
    Target(8, "locked Array element writes: at least 1.5x", ("shared.array.writes",), 1.5),
    Target(9, "queue small objects 1 -> 1, put/get: at least 3x", ("queue.1to1.small",), 3.0),
    Target(9, "queue small objects 1 -> 1, put_many/get_many: at least 8x", ("queue.1to1.small.batched",), 8.0),
    Target(9, "queue small objects 2 -> 2: at least 3x", ("queue.2to2.small",), 3.0),
    Target(9, "queue 1 MiB payloads: at least as fast as faster-fifo", ("queue.1to1.1MiB",), 1.0, "faster-fifo"),
    Target(10, "apply_async of 20,000 tasks: at least 4x tasks/s", ("pool.apply_async",), 4.0),
    Target(
        10,
        "imap_unordered of 200,000 tiny tasks, default chunk size: at least 5x",
        ("pool.imap_unordered.default",),
        5.0,
    ),
    Target(10, "map of 200,000 tiny tasks: at least 1.2x", ("pool.map.default",), 1.2),
    Target(10, "pool start-up and shutdown: no slower", ("pool.startup",), 1.0),
    Target(10, "CPU-bound speed-up within 5% of the core count", ("pool.cpu_bound",), 0.95, "serial", per_core=True),
    Target(11, "proxy round trips (list, dict, namespace; parent and child): at least 1.3x", PROXY, 1.3),
    Target(11, "manager start-up: at most the stdlib's time", ("manager.startup",), 1.0),
    Target(
        15,
        "Dask backend tiny tasks (map, apply_async): at least 10x plain client.map",
        ("pool.dask.map", "pool.dask.apply_async"),
        10.0,
        "dask client.map",
    ),
)


def _ratio(workload: dict[str, Any], against: str) -> tuple[float | None, str]:
    rows = {row["impl"]: row for row in workload["rows"]}
    ours, theirs = rows.get("processing"), rows.get(against)
    if ours is None or ours["status"] != "ok":
        reason = f"processing: {ours['status']}" + (f" ({ours['reason']})" if ours and ours["reason"] else "")
        return None, reason if ours else "no processing row"
    if theirs is None or theirs["status"] != "ok":
        return None, f"{against}: {theirs['status'] if theirs else 'no row'}"
    return theirs["median"] / ours["median"], ""


def evaluate(workloads: list[dict[str, Any]], usable_cores: int) -> list[dict[str, Any]]:
    """Each target with its status, the measured speed-up (worst workload) and the requirement."""
    by_id = {w["id"]: w for w in workloads}
    results = []
    for target in TARGETS:
        required = target.minimum * (usable_cores if target.per_core else 1)
        entry: dict[str, Any] = {
            "issue": target.issue,
            "target": target.text,
            "workloads": list(target.workloads),
            "against": target.against,
            "required_speedup": round(required, 4),
            "measured_speedup": None,
            "status": NOT_MEASURABLE,
            "reason": target.unmeasured,
        }
        measured: list[float] = []
        for workload_id in target.workloads:
            if workload_id not in by_id:
                entry["reason"] = f"{workload_id} not in this run"
                break
            ratio, reason = _ratio(by_id[workload_id], target.against)
            if ratio is None:
                entry["reason"] = f"{workload_id}: {reason}"
                break
            measured.append(ratio)
        else:
            if measured:
                worst = min(measured)
                entry["measured_speedup"] = round(worst, 4)
                entry["status"] = MET if worst >= required else NOT_MET
        results.append(entry)
    return results
