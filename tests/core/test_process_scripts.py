"""Whole programs run in a subprocess: exit handling, ``__main__``, Ctrl-C, the fork server's life."""

from __future__ import annotations

import ast
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

TIMEOUT = 60


def run_script(tmp_path: Path, source: str, *args: str, module: str | None = None) -> subprocess.CompletedProcess:
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(source))
    command = [sys.executable, "-m", module] if module else [sys.executable, str(script)]
    return subprocess.run([*command, *args], cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT, check=False)


def session_processes(sid: int) -> dict[int, str]:
    """Live (non-zombie) processes of session ``sid``."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            raw = Path(f"/proc/{entry}/stat").read_bytes()
        except OSError:
            continue
        fields = raw[raw.rfind(b")") + 2 :].split()
        if int(fields[3]) == sid and fields[0] != b"Z":
            found[int(entry)] = fields[0].decode()
    return found


def wait_until_gone(sid: int, seconds: float = 20.0) -> dict[int, str]:
    deadline = time.monotonic() + seconds
    left = session_processes(sid)
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = session_processes(sid)
    return left


EXIT_SCRIPT = """
import sys, time
import processing_core

def sleeper():
    time.sleep(60)

def slow_writer(path):
    time.sleep(0.3)
    open(path, "w").write("joined")

if __name__ == "__main__":
    ctx = processing_core.get_context(sys.argv[1])
    daemon = ctx.Process(target=sleeper, daemon=True)
    daemon.start()
    ctx.Process(target=slow_writer, args=("written",)).start()
    print(daemon.pid, flush=True)
"""


def test_daemons_terminated_and_others_joined_at_exit(tmp_path, start_method):
    result = run_script(tmp_path, EXIT_SCRIPT, start_method)
    assert result.returncode == 0, result.stderr
    daemon_pid = int(result.stdout.split()[0])
    assert (tmp_path / "written").read_text() == "joined"
    stat = Path(f"/proc/{daemon_pid}/stat")
    assert not stat.exists() or stat.read_bytes().split(b") ")[1][:1] == b"Z"


MAIN_SCRIPT = """
import sys
import processing_core

with open("trace", "a") as out:
    out.write(f"top-level as {__name__}\\n")

def target(path):
    with open(path, "w") as out:
        out.write(f"target from {target.__module__} in {processing_core.current_process().name}")

if __name__ == "__main__":
    with open("trace", "a") as out:
        out.write("guarded block\\n")
    p = processing_core.get_context(sys.argv[1]).Process(target=target, args=("result",))
    p.start()
    p.join()
    sys.exit(p.exitcode)
"""


# In a spawned child the main module's functions live in __mp_main__, aliased as __main__.
RESULTS = {"target from __main__ in Process-1", "target from __mp_main__ in Process-1"}


def test_main_script_is_recreated_without_its_guarded_block(tmp_path, start_method):
    result = run_script(tmp_path, MAIN_SCRIPT, start_method)
    assert result.returncode == 0, result.stderr
    trace = (tmp_path / "trace").read_text().splitlines()
    assert trace.count("guarded block") == 1
    if start_method == "fork":
        assert trace == ["top-level as __main__", "guarded block"]
    else:
        assert sorted(trace) == ["guarded block", "top-level as __main__", "top-level as __mp_main__"]
    assert (tmp_path / "result").read_text() in RESULTS


def test_main_module_run_with_dash_m(tmp_path, start_method):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "prog.py").write_text(textwrap.dedent(MAIN_SCRIPT))
    result = subprocess.run(
        [sys.executable, "-m", "pkg.prog", start_method],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    trace = (tmp_path / "trace").read_text().splitlines()
    assert trace.count("guarded block") == 1
    assert (tmp_path / "result").read_text() in RESULTS


UNGUARDED_SCRIPT = """
import sys
import processing_core

def target():
    pass

p = processing_core.get_context(sys.argv[1]).Process(target=target)
p.start()
p.join()
print("exitcode", p.exitcode)
"""


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_starting_a_process_while_bootstrapping_is_a_clear_error(tmp_path, start_method):
    result = run_script(tmp_path, UNGUARDED_SCRIPT, start_method)
    assert "if __name__ == '__main__':" in result.stderr
    assert "bootstrapping phase" in result.stderr


SIGINT_SCRIPT = """
import os, sys, time
import processing_core

def sleeper(path):
    open(path, "w").close()  # running Python code: Ctrl-C now raises KeyboardInterrupt here
    time.sleep(60)

if __name__ == "__main__":
    ctx = processing_core.get_context(sys.argv[1])
    children = [ctx.Process(target=sleeper, args=(f"ready-{i}",)) for i in range(2)]
    for child in children:
        child.start()
    while not all(os.path.exists(f"ready-{i}") for i in range(2)):
        time.sleep(0.01)
    try:
        print("ready", flush=True)
        for child in children:
            child.join()
    except KeyboardInterrupt:
        for child in children:
            child.join(30)
        print("interrupted", [child.exitcode for child in children], flush=True)
        raise
"""


@pytest.mark.timeout(90)
def test_ctrl_c_in_the_parent_while_children_run(tmp_path, start_method):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(SIGINT_SCRIPT))
    proc = subprocess.Popen(
        [sys.executable, str(script), start_method],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout.readline().strip() == "ready"
        os.killpg(proc.pid, signal.SIGINT)  # what a terminal does on Ctrl-C
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert "KeyboardInterrupt" in err
    assert proc.returncode != 0
    assert "interrupted [1, 1]" in out, err
    assert wait_until_gone(proc.pid) == {}


FORKSERVER_SCRIPT = """
import time
import processing_core
from processing_core import _forkserver

def noop():
    pass

if __name__ == "__main__":
    p = processing_core.get_context("forkserver").Process(target=noop)
    p.start()
    p.join()
    print(_forkserver._server.pid, flush=True)
    time.sleep(60)
"""


@pytest.mark.timeout(90)
def test_forkserver_dies_with_its_parent_even_after_sigkill(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(textwrap.dedent(FORKSERVER_SCRIPT))
    proc = subprocess.Popen(
        [sys.executable, str(script)], cwd=tmp_path, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        server_pid = int(proc.stdout.readline())
        assert server_pid in session_processes(proc.pid)
        proc.kill()
        proc.wait()
        assert wait_until_gone(proc.pid) == {}
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


ON_DEMAND_SCRIPT = """
import pickle
import sys
import processing_core
import helper

with open("trace", "a") as out:
    out.write(f"top-level as {__name__}\\n")

def work():
    with open("result", "w") as out:
        out.write("main function ran")

if __name__ == "__main__":
    method, mode, kind = sys.argv[1:4]
    if mode != "default":
        processing_core.set_spawn_main_mode(mode)
    ctx = processing_core.get_context(method)
    if kind == "elsewhere":
        p = ctx.Process(target=helper.write_result)
    else:  # a reference to __main__ that only surfaces after start-up, as a pool task would
        p = ctx.Process(target=helper.call_pickled, args=(pickle.dumps(work),))
    p.start()
    p.join()
    sys.exit(p.exitcode)
"""

HELPER_MODULE = """
import pickle

def write_result():
    with open("result", "w") as out:
        out.write("helper ran")

def call_pickled(blob):
    pickle.loads(blob)()
"""


@pytest.mark.parametrize(
    ("mode", "kind", "main_runs_in_child", "result"),
    [
        ("default", "elsewhere", True, "helper ran"),  # as multiprocessing: main re-runs
        ("when-needed", "elsewhere", False, "helper ran"),
        ("always", "elsewhere", True, "helper ran"),
        ("when-needed", "later", True, "main function ran"),
    ],
)
def test_spawned_child_runs_the_main_module_when_needed(tmp_path, mode, kind, main_runs_in_child, result):
    (tmp_path / "helper.py").write_text(textwrap.dedent(HELPER_MODULE))
    outcome = run_script(tmp_path, ON_DEMAND_SCRIPT, "spawn", mode, kind)
    assert outcome.returncode == 0, outcome.stderr
    assert (tmp_path / "result").read_text() == result
    trace = (tmp_path / "trace").read_text().splitlines()
    assert ("top-level as __mp_main__" in trace) is main_runs_in_child
    assert trace.count("top-level as __main__") == 1


def test_unknown_main_mode_is_refused():
    import processing_core

    with pytest.raises(ValueError, match="'when-needed', 'always'"):
        processing_core.set_spawn_main_mode("sometimes")


PRELOAD_SCRIPT = """
import os
import signal
import sys
import processing_core
from processing_core import _forkserver

def report(path):
    with open(path, "w") as out:
        out.write(repr(("preloaded" in sys.modules, os.getppid())))

if __name__ == "__main__":
    processing_core.set_forkserver_preload(["preloaded"])
    ctx = processing_core.get_context("forkserver")
    p = ctx.Process(target=report, args=("first",))
    p.start()
    p.join()
    first_server = _forkserver._server.pid
    os.kill(first_server, signal.SIGKILL)  # a dead server is replaced on next use
    os.waitpid(first_server, 0)
    p = ctx.Process(target=report, args=("second",))
    p.start()
    p.join()
    print(first_server, _forkserver._server.pid, p.exitcode)
"""


def test_forkserver_preloads_modules_and_is_replaced_when_it_died(tmp_path):
    (tmp_path / "preloaded.py").write_text("import os\nopen('import-trace', 'a').write(f'{os.getpid()}\\n')\n")
    result = run_script(tmp_path, PRELOAD_SCRIPT)
    assert result.returncode == 0, result.stderr
    first_server, second_server, exitcode = (int(x) for x in result.stdout.split())
    assert first_server != second_server and exitcode == 0
    assert ast.literal_eval((tmp_path / "first").read_text()) == (True, first_server)
    assert ast.literal_eval((tmp_path / "second").read_text()) == (True, second_server)
    # Imported once by each server, never again by the children.
    assert (tmp_path / "import-trace").read_text().split() == [str(first_server), str(second_server)]


ORPHAN_SCRIPT = """
import os
import sys
import time
import processing_core

def watch_parent():
    parent = processing_core.parent_process()
    alive_before = parent.is_alive()
    open("ready", "w").close()
    parent.join(30)  # returns when the parent's sentinel fires
    with open("watch", "w") as out:
        out.write(f"{parent.name} alive={alive_before} then={parent.is_alive()}")

if __name__ == "__main__":
    p = processing_core.get_context(sys.argv[1]).Process(target=watch_parent)
    p.start()
    print(p.pid, flush=True)
    while not os.path.exists("ready"):
        time.sleep(0.01)
    os._exit(0)  # die abruptly: no exit handling, no join
"""


def test_child_sees_its_parent_die(tmp_path, start_method):
    result = run_script(tmp_path, ORPHAN_SCRIPT, start_method)
    assert result.returncode == 0, result.stderr
    child = int(result.stdout.split()[0])
    deadline = time.monotonic() + 30
    while not (tmp_path / "watch").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert (tmp_path / "watch").read_text() == "MainProcess alive=True then=False"
    # The orphan was reparented to this test process (a subreaper): let it finish exiting.
    deadline = time.monotonic() + 10
    while _state(child) not in (None, "Z") and time.monotonic() < deadline:
        time.sleep(0.05)


def _state(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return None
    return raw[raw.rfind(b")") + 2 :][:1].decode()
