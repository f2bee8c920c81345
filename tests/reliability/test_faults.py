"""Fault injection: a participant dies by SIGKILL, SIGTERM, a segfault or ``os._exit`` at a
chosen moment; the survivors see a clear exception or recover, never hang, and nothing
is left behind (processes carrying the family's marker, socket files, /dev/shm entries).

Each case runs ``fault_family.py`` in a subprocess (see its docstring), so that even
the long-lived helpers (fork server, resource tracker) can be killed without harming
the test process.  Cases the per-package suites already cover in depth are cited in
``docs/reliability.md`` instead of repeated here; this matrix adds every way of dying
for each participant.
"""

from __future__ import annotations

import contextlib
import json
import signal
import time
from pathlib import Path

import pytest
from reliability_helpers import Family, count, shm_entries

HOWS = ["sigkill", "sigterm", "segfault", "exit"]
SIGNALS = ["sigkill", "sigterm"]  # helpers cannot be made to segfault or exit on cue
EXPECTED_EXITCODE = {"sigkill": -signal.SIGKILL, "sigterm": -signal.SIGTERM, "segfault": -signal.SIGSEGV, "exit": 7}


def run_scenario(family: Family, scenario: str, how: str, start_method: str = "fork") -> dict:
    shm_before = shm_entries()
    done = family.run("fault_family.py", scenario, how, start_method)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert family.leftovers() == {}
    assert shm_entries() - shm_before == set()
    count("faults survived")
    return json.loads(lines[-1].removeprefix("RESULT "))


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", HOWS)
def test_child_dies_holding_a_lock(family: Family, how: str) -> None:
    result = run_scenario(family, "lock_holder", how)
    assert result == {"exitcode": EXPECTED_EXITCODE[how], "survivor": "OwnerDiedError", "fresh_lock": True}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", HOWS)
@pytest.mark.parametrize("scenario", ["producer_mid_put", "consumer_mid_get"])
def test_queue_participant_dies_inside_the_ring(family: Family, scenario: str, how: str) -> None:
    result = run_scenario(family, scenario, how)
    # The half-done put is dropped, the interrupted get leaves its message: nothing lost.
    assert result == {"exitcode": EXPECTED_EXITCODE[how], "survivor": "recovered", "items": ["a", "b", "after"]}


@pytest.mark.timeout(120)
@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
@pytest.mark.parametrize("scenario", ["lock_holder", "producer_mid_put", "consumer_mid_get"])
def test_the_same_deaths_under_spawn_and_forkserver(family: Family, scenario: str, start_method: str) -> None:
    result = run_scenario(family, scenario, "sigkill", start_method)
    assert result["exitcode"] == -signal.SIGKILL
    assert result["survivor"] in ("OwnerDiedError", "recovered")
    assert result.get("items", ["a", "b", "after"]) == ["a", "b", "after"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", HOWS)
def test_sender_dies_mid_message(family: Family, how: str) -> None:
    result = run_scenario(family, "sender_mid_send", how)
    assert result["exitcode"] == EXPECTED_EXITCODE[how]
    # The reader learns that the message was cut short; it does not wait for the rest.
    assert result["survivor"].startswith("BrokenPipeError")
    assert "in the middle of a message" in result["survivor"]


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", HOWS)
def test_manager_client_dies_mid_call(family: Family, how: str) -> None:
    result = run_scenario(family, "manager_client_mid_call", how)
    assert result == {
        "exitcode": EXPECTED_EXITCODE[how],
        "survivor": ["client started", "after"],
        "set": True,
        "left": [],
    }


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", HOWS)
def test_pool_worker_dies_mid_task(family: Family, how: str) -> None:
    result = run_scenario(family, "pool_worker_mid_task", how)
    assert result["survivor"].startswith("WorkerLostError: a pool worker")
    assert ("exit code 7" if how == "exit" else f"exit code {EXPECTED_EXITCODE[how]}") in result["survivor"]
    assert result["after"] is True and result["left"] == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", HOWS)
def test_manager_server_dies_mid_call(family: Family, how: str) -> None:
    result = run_scenario(family, "manager_server_mid_call", how)
    # The caller and every later call get RemoteError (never a hang); shutdown returns.
    assert result == {
        "exitcode": EXPECTED_EXITCODE[how],
        "survivor": "RemoteError",
        "after": "RemoteError",
        "left": [],
    }


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", SIGNALS)
def test_forkserver_killed(family: Family, how: str) -> None:
    result = run_scenario(family, "forkserver", how)
    assert result["server_gone"] is True
    # A child already started through the dead server can no longer report its exit
    # status: it is joined with the "unknown" code 255 instead of hanging its parent.
    assert result["earlier_child"] in (0, 255)
    assert result["survivor"] == "restarted exitcode=0" and result["new_server"] is True
    assert result["left"] == []


@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", SIGNALS)
def test_resource_tracker_killed(family: Family, how: str) -> None:
    result = run_scenario(family, "resource_tracker", how)
    # A new tracker takes over (and the names still owned); create and unlink keep working.
    assert result == {"tracker_gone": True, "survivor": "created", "new_tracker": True}


@pytest.mark.slow
@pytest.mark.timeout(120)
@pytest.mark.parametrize("how", HOWS)
def test_parent_dies_and_its_family_goes_with_it(family: Family, how: str) -> None:
    """The top process of a family (queue, pool, manager, fork server, resource tracker,
    a shared memory segment) dies: every helper ends and the segment is unlinked."""
    shm_before = shm_entries()
    top = family.popen("fault_family.py", "parent", how)
    try:
        assert top.stdout is not None
        line = top.stdout.readline()
        assert line.startswith("READY "), line + (top.stderr.read() if top.stderr else "")
        segment = line.split()[1]
        assert Path("/dev/shm", segment).exists()
        assert top.stdin is not None
        top.stdin.write("go\n")
        top.stdin.flush()
        if how in SIGNALS:
            top.send_signal(signal.SIGKILL if how == "sigkill" else signal.SIGTERM)
        top.wait(60)
    finally:
        if top.poll() is None:
            top.kill()
            top.wait(10)
        for stream in (top.stdin, top.stdout, top.stderr):
            with contextlib.suppress(OSError):
                stream.close()
    assert top.returncode == EXPECTED_EXITCODE[how]
    assert family.leftovers() == {}
    deadline = time.monotonic() + 30
    while Path("/dev/shm", segment).exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # the tracker unlinks it once the last user is gone
    assert shm_entries() - shm_before == set()
    count("faults survived")
