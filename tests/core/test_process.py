"""Process lifecycle across fork, spawn and forkserver: exit codes, joins, signals, names."""

from __future__ import annotations

import ast
import os
import pickle
import select
import signal
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # spawned children import the targets by name
import process_targets as targets
import processing_core


def read_info(path: Path) -> dict:
    return ast.literal_eval(path.read_text())


def test_lifecycle_and_reprs(ctx):
    p = ctx.Process(target=targets.noop, name="worker")
    assert repr(p).endswith("(worker, initial)>")
    assert p.pid is None and p.exitcode is None and not p.is_alive()
    p.start()
    assert isinstance(p.pid, int) and p.ident == p.pid
    p.join()
    assert p.exitcode == 0 and not p.is_alive()
    assert repr(p).endswith("(worker, stopped)>")
    assert p not in processing_core.active_children()
    p.close()
    with pytest.raises(ValueError, match="closed"):
        p.is_alive()


@pytest.mark.parametrize(("code", "expected"), [(0, 0), (3, 3), (None, 0), ("message", 1)])
def test_exit_codes(ctx, code, expected):
    p = ctx.Process(target=targets.exit_with, args=(code,))
    p.start()
    p.join()
    assert p.exitcode == expected
    if expected:
        assert repr(p).endswith(f"stopped[{expected}])>")


def test_uncaught_exception_exits_1(ctx, capfd):
    p = ctx.Process(target=targets.raise_error)
    p.start()
    p.join()
    assert p.exitcode == 1
    err = capfd.readouterr().err
    assert f"Process {p.name}:" in err and "ValueError: boom in the child" in err


def test_join_timeout_and_terminate(ctx):
    p = ctx.Process(target=targets.sleep, args=(60,), daemon=True)
    p.start()
    p.join(0.05)
    assert p.is_alive() and p.exitcode is None
    assert repr(p).endswith("started daemon)>")
    p.join(0)
    assert p.is_alive()
    p.terminate()
    p.join()
    assert p.exitcode == -signal.SIGTERM
    assert repr(p).endswith("stopped[SIGTERM] daemon)>")


def test_kill(ctx):
    p = ctx.Process(target=targets.sleep, args=(60,))
    p.start()
    p.kill()
    p.join()
    assert p.exitcode == -signal.SIGKILL
    assert "stopped[SIGKILL]" in repr(p)


def test_segfault_exit_code(ctx):
    p = ctx.Process(target=targets.segfault)
    p.start()
    p.join()
    assert p.exitcode == -signal.SIGSEGV


def test_sentinel_becomes_readable_at_exit(ctx):
    p = ctx.Process(target=targets.sleep, args=(0.5,))
    with pytest.raises(ValueError, match="not started"):
        p.sentinel
    p.start()
    assert select.select([p.sentinel], [], [], 0)[0] == []
    assert select.select([p.sentinel], [], [], 30)[0] == [p.sentinel]
    p.join()
    assert p.exitcode == 0


def test_child_facts_nested_naming_and_authkey(ctx, start_method, tmp_path):
    out = tmp_path / "grandchild"
    p = ctx.Process(target=targets.start_grandchild, args=(str(out), start_method))
    p.start()
    p.join()
    assert p.exitcode == 0
    info = read_info(out)
    assert info["name"] == f"{p.name}:1"
    assert info["parent_name"] == p.name and info["parent_pid"] == p.pid and info["parent_alive"]
    assert info["pid"] == info["ident"]
    assert info["authkey"] == processing_core.current_process().authkey.hex()


def test_names_count_per_parent(ctx):
    first, second = ctx.Process(target=targets.noop), ctx.Process(target=targets.noop)
    n = int(first.name.split("-")[1])
    assert second.name == f"Process-{n + 1}"


def test_authkey_is_32_random_bytes_and_not_picklable():
    key = processing_core.current_process().authkey
    assert isinstance(key, bytes) and len(key) == 32
    with pytest.raises(TypeError, match="disallowed"):
        pickle.dumps(processing_core.current_process()._config["authkey"])


def test_args_and_kwargs_reach_the_child(ctx, tmp_path):
    out = tmp_path / "args"
    p = ctx.Process(target=targets.echo_args, args=(str(out), 1, "two"), kwargs={"three": [3]})
    p.start()
    p.join()
    assert ast.literal_eval(out.read_text()) == ((1, "two"), {"three": [3]})


def test_daemonic_process_may_not_have_children(ctx, tmp_path):
    out = tmp_path / "error"
    p = ctx.Process(target=targets.try_start_child, args=(str(out),), daemon=True)
    p.start()
    p.join()
    assert "daemonic processes are not allowed to have children" in out.read_text()


def test_start_twice_and_join_unstarted(ctx):
    p = ctx.Process(target=targets.noop)
    with pytest.raises(AssertionError, match="started process"):
        p.join()
    p.start()
    with pytest.raises(AssertionError, match="twice"):
        p.start()
    p.join()
    with pytest.raises(AssertionError, match="already started"):
        p.daemon = True


def test_close_refuses_a_running_process(ctx):
    p = ctx.Process(target=targets.sleep, args=(60,))
    p.start()
    with pytest.raises(ValueError, match="still running"):
        p.close()
    p.kill()
    p.join()
    p.close()


def test_subclass_run(start_method, tmp_path):
    writer = targets.WRITERS[start_method](str(tmp_path / "out"))
    assert repr(writer) == f"<{start_method.capitalize()}Writer({writer.name}, initial)>"
    writer.start()
    writer.join()
    assert writer.exitcode == 0
    assert (tmp_path / "out").read_text() == "ran"


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])  # fork pickles nothing
def test_unpicklable_argument_names_object_and_method(start_method):
    ctx = processing_core.get_context(start_method)
    p = ctx.Process(target=targets.echo_args, args=("x", threading.Lock()))
    with pytest.raises(TypeError, match=rf"'{start_method}' start method.*args\[1\] \(_thread.lock object\)"):
        p.start()
    assert p.pid is None and p not in processing_core.active_children()


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_unpicklable_target_is_named(start_method):
    p = processing_core.get_context(start_method).Process(target=lambda: None)
    with pytest.raises(Exception, match=rf"'{start_method}' start method.*the target \(builtins.function object\)"):
        p.start()


def test_unpicklable_target_fork_is_fine(tmp_path):
    out = tmp_path / "out"
    p = processing_core.get_context("fork").Process(target=lambda: out.write_text("lambda"))
    p.start()
    p.join()
    assert out.read_text() == "lambda"


def test_spawned_child_gets_only_its_descriptors(tmp_path):
    leaked_r, leaked_w = os.pipe()
    os.set_inheritable(leaked_r, True)  # even an inheritable descriptor must not leak
    try:
        out = tmp_path / "fds"
        p = processing_core.get_context("spawn").Process(target=targets.list_fds, args=(str(out),))
        p.start()
        p.join()
        fds = ast.literal_eval(out.read_text())
        assert leaked_r not in fds and leaked_w not in fds
        extra = {fd: target for fd, target in fds.items() if fd > 2 and target != "/dev/null"}
        # The start-up pipe (kept: its EOF means the parent died) and the exit pipe: nothing else.
        assert len(extra) == 2 and all(target.startswith("pipe:") for target in extra.values()), fds
    finally:
        os.close(leaked_r)
        os.close(leaked_w)


def test_active_children_reaps(ctx):
    p = ctx.Process(target=targets.sleep, args=(60,))
    p.start()
    assert p in processing_core.active_children()
    p.terminate()
    p.join()
    assert p not in processing_core.active_children()


def test_0_52_aliases(ctx):
    p = ctx.Process(target=targets.noop)
    p.setName("old-style")
    p.setDaemon(True)
    assert p.getName() == "old-style" and p.isDaemon() and p.getPid() is None and p.getExitCode() is None
    assert p.getAuthKey() == processing_core.current_process().authkey
    p.start()
    p.join()
    assert p.getExitCode() == 0 and not p.isAlive()
    import processing

    assert processing.currentProcess is processing_core.current_process
    assert processing.activeChildren is processing_core.active_children
    assert processing.cpuCount() == processing_core.cpu_count()
    assert processing.freezeSupport() is None


def test_current_and_parent_process_in_main():
    me = processing_core.current_process()
    assert repr(me) == "<_MainProcess(MainProcess, started)>"
    assert me.is_alive() and me.pid == os.getpid()
    assert processing_core.parent_process() is None


def _zombie_children() -> set[int]:
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                raw = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            fields = raw[raw.rfind(b")") + 2 :].split()
            if fields[0] == b"Z" and int(fields[1]) == me:
                found.add(int(entry))
    return found


def test_finished_children_are_reaped_without_join(ctx):
    before = _zombie_children()
    children = [ctx.Process(target=targets.noop) for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        # Wait for the exit without reaping it, then let active_children() do the reaping.
        assert select.select([child.sentinel], [], [], 30)[0]
    assert not set(children) & set(processing_core.active_children())
    assert {c.exitcode for c in children} == {0}
    assert _zombie_children() - before == set()


def test_close_releases_the_sentinel(ctx):
    p = ctx.Process(target=targets.noop)
    p.start()
    p.join()
    sentinel = p.sentinel
    p.close()
    with pytest.raises(OSError):
        os.fstat(sentinel)
    with pytest.raises(ValueError, match="closed"):
        p.exitcode
    assert "closed" in repr(p)


@pytest.mark.parametrize("start_method", ["spawn", "forkserver"])
def test_set_executable_picks_the_childrens_interpreter(start_method, tmp_path):
    from processing_core import _context, _forkserver

    trace = tmp_path / "trace"
    wrapper = tmp_path / "python-wrapper"
    wrapper.write_text(f'#!/bin/sh\necho started >> "{trace}"\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    processing_core.set_executable(str(wrapper))
    try:
        _forkserver.stop_server()  # the next one starts through the wrapper
        out = tmp_path / "args"
        p = processing_core.get_context(start_method).Process(target=targets.echo_args, args=(str(out), 1))
        p.start()
        p.join()
        assert p.exitcode == 0 and ast.literal_eval(out.read_text()) == ((1,), {})
        assert trace.read_text() == "started\n"
    finally:
        _context._executable = None
        _forkserver.stop_server()


def test_a_path_object_on_sys_path_does_not_break_spawning(ctx, tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(tmp_path)
    monkeypatch.setattr(sys, "path", [tmp_path, *sys.path])  # a pathlib.Path, not a str
    p = ctx.Process(target=targets.noop)
    p.start()
    p.join()
    assert p.exitcode == 0


def test_spawned_child_stays_lean_until_it_uses_the_package(tmp_path):
    import lean_target

    out = tmp_path / "modules"
    p = processing_core.get_context("spawn").Process(target=lean_target.report_modules, args=(str(out),), name="lean")
    p.start()
    p.join()
    assert p.exitcode == 0
    # The package imports its names on first use: connections only when Pipe is looked up.
    assert ast.literal_eval(out.read_text()) == (False, False, True, True, "lean")
