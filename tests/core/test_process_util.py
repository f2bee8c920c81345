"""Finalizers, after-fork hooks, logging with process names, cpu counts and contexts."""

from __future__ import annotations

import gc
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # spawned children import the targets by name
import process_targets as targets
import processing_core
from processing_core import _util


class Resource:
    pass


def test_finalize_runs_on_collection_once():
    calls = []
    obj = Resource()
    fin = _util.Finalize(obj, calls.append, args=("collected",))
    assert fin.still_active() and fin.stillActive()
    del obj
    gc.collect()
    assert calls == ["collected"]
    assert not fin.still_active()
    assert fin() is None
    assert repr(fin) == "<Finalize object, dead>"


def test_finalize_cancel_and_repr():
    calls = []
    fin = _util.Finalize(None, calls.append, args=("x",), exitpriority=3)
    assert repr(fin) == "<Finalize object, callback=append, args=('x',), exitprority=3>"
    fin.cancel()
    assert not fin.still_active()
    _util._run_finalizers(0)
    assert calls == []


def test_finalize_needs_an_exitpriority_without_an_object():
    with pytest.raises(ValueError, match="exitpriority"):
        _util.Finalize(None, print)
    with pytest.raises(TypeError, match="exitpriority"):
        _util.Finalize(None, print, exitpriority="high")  # type: ignore[arg-type]


def test_exit_finalizers_run_by_priority_then_newest_first(tmp_path):
    script = tmp_path / "prog.py"
    script.write_text(
        textwrap.dedent(
            """
            from processing_core._util import Finalize
            out = []
            for name, priority in [("a", 0), ("b", 10), ("c", 0), ("d", -5), ("e", 10)]:
                Finalize(None, print, args=(name,), kwargs={"flush": True}, exitpriority=priority)
            """
        )
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split() == ["e", "b", "c", "a", "d"]


def test_register_after_fork_runs_in_forked_children(tmp_path):
    out = tmp_path / "hooks"

    class Holder:
        pass

    holder = Holder()
    _util.register_after_fork(holder, lambda obj: out.open("a").write(f"hook {type(obj).__name__}\n"))
    p = processing_core.get_context("fork").Process(target=lambda: None)
    p.start()
    p.join()
    assert p.exitcode == 0
    assert out.read_text() == "hook Holder\n"
    del holder
    gc.collect()
    assert not _util._after_fork_registry or all(
        type(obj).__name__ != "Holder" for obj in _util._after_fork_registry.values()
    )


def test_log_records_carry_the_process_name(capfd, start_method):
    logger = processing_core.log_to_stderr(logging.INFO)
    try:
        logger.warning("hello from the parent")
        p = processing_core.get_context(start_method).Process(target=targets.log_warning, name="logger-child")
        p.start()
        p.join()
        err = capfd.readouterr().err
        assert "[WARNING/MainProcess] hello from the parent" in err
        assert "[WARNING/logger-child] hello from the child" in err
    finally:
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
        _util._log_to_stderr = False


def test_get_logger_is_the_processing_logger():
    logger = processing_core.get_logger()
    assert logger.name == "processing" and logger is processing_core.get_logger()


def test_is_exiting_false_while_running():
    assert _util.is_exiting() is False


def test_cpu_counts_honour_affinity():
    assert processing_core.cpu_count() == len(os.sched_getaffinity(0))
    assert processing_core.process_cpu_count() >= 1


def test_contexts_and_start_methods():
    methods = processing_core.get_all_start_methods()
    assert sorted(methods) == ["fork", "forkserver", "spawn"]
    expected_default = "forkserver" if sys.version_info >= (3, 14) else "fork"
    assert methods[0] == expected_default
    for name in methods:
        ctx = processing_core.get_context(name)
        assert ctx.get_start_method() == name
        with pytest.raises(ValueError, match="concrete context"):
            ctx.set_start_method("spawn")
    with pytest.raises(ValueError, match="cannot find context for 'bogus'"):
        processing_core.get_context("bogus")


def test_default_start_method_follows_the_interpreter(tmp_path):
    script = "import processing_core; print(processing_core.get_start_method())"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.strip() == ("forkserver" if sys.version_info >= (3, 14) else "fork")


def test_set_start_method_once(tmp_path):
    script = textwrap.dedent(
        """
        import processing_core
        processing_core.set_start_method("spawn")
        assert processing_core.get_start_method() == "spawn"
        try:
            processing_core.set_start_method("fork")
        except RuntimeError as exc:
            print("refused:", exc)
        processing_core.set_start_method("fork", force=True)
        print(processing_core.get_start_method())
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout.split("\n")[:2] == ["refused: context has already been set", "fork"]


def test_register_context_method():
    from processing_core._context import _context_methods, register_context_method

    register_context_method("Echo", lambda ctx, value: (ctx.get_start_method(), value))
    try:
        assert processing_core.get_context("spawn").Echo(5) == ("spawn", 5)
    finally:
        del _context_methods["Echo"]
    with pytest.raises(AttributeError, match="Echo"):
        processing_core.get_context("spawn").Echo


def test_spawned_children_skip_site_unless_import_hooks_need_it(monkeypatch):
    from processing_core import _spawn

    monkeypatch.delenv(_spawn.SITE_ENV, raising=False)
    # Only the interpreter's own finders (pytest adds its assertion-rewriting one).
    standard = [f for f in sys.meta_path if (f if isinstance(f, type) else type(f)).__module__.startswith("_frozen")]
    monkeypatch.setattr(sys, "meta_path", standard)
    assert not _spawn.needs_site()
    assert "-S" in _spawn.command_line(sys.executable, 5, 6)

    class EditableFinder:  # what a .pth file of an editable install may add
        def find_spec(self, *args):
            return None

    monkeypatch.setattr(sys, "meta_path", [EditableFinder(), *standard])
    assert _spawn.needs_site()
    assert "-S" not in _spawn.command_line(sys.executable, 5, 6)
    monkeypatch.undo()
    monkeypatch.setenv(_spawn.SITE_ENV, "1")
    assert "-S" not in _spawn.command_line(sys.executable, 5, 6)
