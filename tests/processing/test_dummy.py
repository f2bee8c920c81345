"""``processing.dummy``: the processing API on threads (the primitives' suite runs it too: tests/sync)."""

from __future__ import annotations

import array
import queue
import threading

import processing.dummy as dummy
import pytest
from processing.dummy import connection
from processing_pool import ThreadPool

WAIT = 30.0


def test_the_names_of_multiprocessing_dummy_and_0_52() -> None:
    import multiprocessing.dummy

    assert [name for name in multiprocessing.dummy.__all__ if not hasattr(dummy, name)] == []
    for name in ("currentProcess", "activeChildren", "freezeSupport", "Namespace", "Value", "Array", "shutdown"):
        assert hasattr(dummy, name)
    assert dummy.currentProcess is dummy.current_process is threading.current_thread
    assert dummy.activeChildren is dummy.active_children
    assert dummy.freezeSupport is dummy.freeze_support
    assert dummy.Lock is threading.Lock and dummy.Condition is threading.Condition
    assert dummy.Queue is queue.Queue and dummy.Pool is ThreadPool


def test_process_is_a_thread_with_the_process_api() -> None:
    seen = []
    p = dummy.Process(target=seen.append, args=("ran",), name="worker")
    assert isinstance(p, threading.Thread)
    assert (p.name, p.exitcode, p.is_alive(), p.getExitCode()) == ("worker", None, False, None)
    assert repr(p) == "<DummyProcess(worker, initial)>"
    p.start()
    p.join(WAIT)
    assert seen == ["ran"]
    assert (p.exitcode, p.isAlive(), p.getName()) == (0, False, "worker")
    with pytest.raises(RuntimeError):
        p.start()


def test_daemon_flag_and_its_0_52_setters() -> None:
    p = dummy.Process(target=lambda: None, daemon=True)
    assert p.isDaemon() is True
    p.setDaemon(False)
    p.setName("renamed")
    assert (p.daemon, p.name) == (False, "renamed")


def test_active_children_lists_live_threads_started_here() -> None:
    go = threading.Event()
    p = dummy.Process(target=go.wait, args=(WAIT,))
    p.start()
    try:
        assert dummy.active_children() == [p]
    finally:
        go.set()
        p.join(WAIT)
    assert dummy.active_children() == []


def test_only_the_creating_thread_may_start_a_process() -> None:
    p = dummy.Process(target=lambda: None)
    errors = []

    def start_elsewhere() -> None:
        try:
            p.start()
        except AssertionError as exc:
            errors.append(exc)

    other = threading.Thread(target=start_elsewhere)
    other.start()
    other.join(WAIT)
    assert len(errors) == 1 and "created by the current thread" in str(errors[0])


def test_manager_is_the_module_itself() -> None:
    manager = dummy.Manager()
    assert manager is dummy
    shared = manager.list([1, 2])
    mapping = manager.dict(a=1)
    ns = manager.Namespace(x=10, y="hello")
    assert (shared, mapping, repr(ns)) == ([1, 2], {"a": 1}, "Namespace(x=10, y='hello')")
    value = manager.Value("i", 1)
    assert repr(value) == "<'Value'('i', 1)>"
    value.set(value.get() + 1)
    assert value.value == 2
    assert manager.Array("i", [1, 2]) == array.array("i", [1, 2])
    assert manager.shutdown() is None


def test_pool_runs_in_threads() -> None:
    with dummy.Pool(2) as pool:
        names = set(pool.map(lambda _: threading.current_thread().name, range(8)))
        assert pool.map_async(abs, [-1, -2]).get(WAIT) == [1, 2]
    assert threading.current_thread().name not in names


def test_pipe_passes_objects_both_ways_without_copying() -> None:
    a, b = dummy.Pipe()
    payload = {"k": [1, 2]}
    a.send(payload)
    assert b.poll(WAIT)
    assert b.recv() is payload
    b.sendBytes(b"bytes")
    assert a.recvBytes() == b"bytes"
    assert a.poll() is False
    assert a.poll(0.05) is False
    # A poll with a timeout waits for data that comes later.
    later = threading.Timer(0.05, b.send_bytes, (b"later",))
    later.start()
    try:
        assert a.poll(WAIT) is True
        assert a.recv_bytes() == b"later"
    finally:
        later.join()


def test_closing_one_end_gives_eof_at_the_other_after_what_was_sent() -> None:
    a, b = connection.Pipe()
    a.send(1)
    a.close()
    assert a.closed
    assert b.recv() == 1
    assert b.poll(0) is True
    with pytest.raises(EOFError):
        b.recv()
    with pytest.raises(EOFError):
        b.recv()
    with pytest.raises(OSError, match="closed"):
        a.send(2)


def test_listener_and_client_between_threads() -> None:
    with connection.Listener() as listener:
        results = []

        def client() -> None:
            with connection.Client(listener.address) as conn:
                conn.send("hello")
                results.append(conn.recv())

        thread = threading.Thread(target=client)
        thread.start()
        with listener.accept() as served:
            served.send(served.recv().upper())
        thread.join(WAIT)
    assert results == ["HELLO"]
    assert connection.families == [None] and connection.connections_are_picklable
    with pytest.raises(OSError, match="closed"):
        listener.accept()
    with pytest.raises(TypeError, match=r"processing\.dummy Listener"):
        connection.Client(("localhost", 6000))
