"""Managers and proxies across fork, spawn and forkserver."""

from __future__ import annotations

import pickle
import re
import threading

import manager_targets as targets
import processing_sync  # noqa: F401 - gives contexts their SimpleQueue
import pytest
from processing_core import AuthenticationError
from processing_core._listener import Client
from processing_managers import (
    BaseManager,
    Namespace,
    RemoteError,
    SharedMemoryManager,
    SyncManager,
)


@pytest.fixture
def manager(ctx):
    with SyncManager(ctx=ctx) as started:
        yield started


def test_seed_example_list_reverse_str_and_repr(manager) -> None:
    shared = manager.list(range(10))
    shared.reverse()
    assert str(shared) == "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]"
    assert re.fullmatch(r"<Proxy\[list\] object at 0x[0-9a-f]+>", repr(shared))
    assert shared._getvalue() == list(range(9, -1, -1))
    assert shared._getValue() == shared._getvalue()


def test_list_proxy_behaves_like_a_list(manager) -> None:
    shared = manager.list([3, 1, 2])
    shared.append(4)
    shared += [5]
    shared.sort()
    assert len(shared) == 5 and shared[0] == 1 and shared[-1] == 5
    assert list(shared) == [1, 2, 3, 4, 5]
    assert 3 in shared
    del shared[0]
    assert shared.pop() == 5
    assert shared[:] == [2, 3, 4]
    with pytest.raises(IndexError):
        shared[100]


def test_dict_proxy_behaves_like_a_dict(manager) -> None:
    shared = manager.dict(a=1)
    shared["b"] = 2
    shared.update(c=3)
    assert sorted(shared.keys()) == ["a", "b", "c"]
    assert sorted(shared.items()) == [("a", 1), ("b", 2), ("c", 3)]
    assert sorted(iter(shared)) == ["a", "b", "c"]
    assert shared.get("zzz", 9) == 9 and "a" in shared and len(shared) == 3
    with pytest.raises(KeyError):
        shared["missing"]


def test_namespace_value_and_array(manager) -> None:
    namespace = manager.Namespace(x=1)
    namespace.y = 2
    assert (namespace.x, namespace.y) == (1, 2)
    assert str(namespace) == "Namespace(x=1, y=2)"
    del namespace.x
    with pytest.raises(AttributeError):
        namespace.x
    value = manager.Value("i", 7)
    value.value += 1
    assert value.value == 8 and value.get() == 8
    assert str(value) == "Value('i', 8)"
    array = manager.Array("d", [0.5, 1.5])
    array[1] = 2.5
    assert len(array) == 2 and array[1] == 2.5


def test_primitives_through_proxies(manager) -> None:
    lock, rlock = manager.Lock(), manager.RLock()
    with lock:
        assert not lock.acquire(False)
    assert lock.acquire(block=False)  # the 0.52 keyword
    lock.release()
    with rlock, rlock:
        pass
    semaphore = manager.BoundedSemaphore(2)
    assert semaphore.acquire() and semaphore.acquire() and not semaphore.acquire(timeout=0.05)
    semaphore.release()
    semaphore.release()
    with pytest.raises(ValueError):
        semaphore.release()
    event = manager.Event()
    assert not event.is_set() and not event.wait(0.05)
    event.set()
    assert event.isSet() and event.wait(1)
    condition = manager.Condition()
    with condition:
        assert not condition.wait(0.05)
        assert condition.wait_for(lambda: True, timeout=0.1)
    barrier = manager.Barrier(1)
    assert barrier.parties == 1 and barrier.wait() == 0 and not barrier.broken
    queue = manager.Queue()
    queue.put("x")
    assert queue.get(timeout=5) == "x" and queue.empty()


def test_proxies_passed_to_children(ctx, manager) -> None:
    shared_list, shared_dict = manager.list(), manager.dict()
    namespace, value, lock = manager.Namespace(count=0), manager.Value("i", 0), manager.Lock()
    children = [
        ctx.Process(target=targets.append_in_child, args=(shared_list, "child")),
        ctx.Process(target=targets.fill_dict, args=(shared_dict, "k", "v")),
        ctx.Process(target=targets.bump_namespace, args=(namespace,)),
    ] + [ctx.Process(target=targets.increment_locked, args=(value, lock, 50)) for _ in range(3)]
    for child in children:
        child.start()
    for child in children:
        child.join(60)
        assert child.exitcode == 0
    assert shared_list[:] == ["child"]
    assert shared_dict["k"] == "v"
    assert namespace.count == 1
    assert value.value == 150  # no lost update under the shared lock


def test_event_set_by_a_child_wakes_the_parent(ctx, manager) -> None:
    event = manager.Event()
    child = ctx.Process(target=targets.set_event_later, args=(event,))
    child.start()
    assert event.wait(30)
    child.join(30)


def test_nested_proxies(manager) -> None:
    inner = manager.list([1])
    outer = manager.list([inner])
    nested = outer[0]
    nested.append(2)
    assert inner[:] == [1, 2]
    holder = manager.dict(inner=inner)
    holder["inner"].append(3)
    assert inner[:] == [1, 2, 3]


def test_proxy_pickles_and_objects_are_freed(manager) -> None:
    before = manager._number_of_objects()
    shared = manager.list([1, 2])
    copy = pickle.loads(pickle.dumps(shared))
    assert copy[:] == [1, 2]
    assert manager._number_of_objects() == before + 1
    del shared
    assert copy[:] == [1, 2]  # the copy holds its own reference
    del copy
    assert manager._number_of_objects() == before


def test_remote_exception_carries_the_remote_traceback(ctx) -> None:
    with targets.CounterManager(ctx=ctx) as manager:
        counter = manager.Counter()
        with pytest.raises(ValueError, match="on purpose") as caught:
            counter.fail()
        assert isinstance(caught.value.__cause__, RemoteError)
        assert "Counter.fail" in str(caught.value.__cause__) or "fail" in str(caught.value.__cause__)
        with pytest.raises(RemoteError, match="could not send"):
            counter.unpicklable()
        assert counter.increment(2) == 2  # the connection is still usable


def test_a_result_that_refuses_comparison_comes_back(ctx) -> None:
    with targets.CounterManager(ctx=ctx) as manager:
        counter = manager.Counter()
        assert type(counter.incomparable()).__name__ == "Incomparable"
        assert counter.increment() == 1  # the client's connection still serves


def test_custom_types_and_exposure(ctx) -> None:
    with targets.CounterManager(ctx=ctx) as manager:
        auto = manager.Counter(5)
        assert auto.increment() == 6 and auto.value() == 6
        assert not hasattr(auto, "_hidden")
        with pytest.raises(RemoteError, match="not exposed"):
            auto._callmethod("_hidden")
        typed = manager.TypedCounter(1)
        assert type(typed).__name__ == "CounterProxy"
        assert typed.increment(4) == 5
        with pytest.raises(RemoteError, match="not exposed"):
            typed._callmethod("fail")


def test_legacy_creator_method_and_from_address(ctx) -> None:
    with targets.LegacyManager(ctx=ctx) as manager:
        counter = manager.Counter(1)
        assert counter.increment() == 2
        numbers = manager.numbers([1, 2])
        assert numbers._getvalue() == [1, 2]
        other = targets.LegacyManager.fromAddress(manager.address, bytes(manager._authkey))
        assert other.Counter(41).increment() == 42


def test_remote_manager_over_tcp_loopback(ctx) -> None:
    authkey = b"remote secret"
    with targets.CounterManager(address=("127.0.0.1", 0), authkey=authkey, ctx=ctx) as manager:
        host, port = manager.address
        assert host == "127.0.0.1" and port > 0
        results = ctx.SimpleQueue()
        child = ctx.Process(target=targets.use_remote_manager, args=(manager.address, authkey, results))
        child.start()
        assert results.get() == 15
        child.join(30)
        assert child.exitcode == 0


def test_wrong_authkey_is_refused_and_the_server_keeps_serving(ctx) -> None:
    with targets.CounterManager(address=("127.0.0.1", 0), authkey=b"right", ctx=ctx) as manager:
        intruder = targets.CounterManager(address=manager.address, authkey=b"wrong")
        with pytest.raises(AuthenticationError):
            intruder.connect()
        assert manager.Counter(1).increment() == 2


def test_silent_and_garbage_clients_do_not_block_others(manager) -> None:
    import socket

    silent = socket.create_connection(manager.address) if isinstance(manager.address, tuple) else None
    raw = socket.socket(socket.AF_UNIX) if not isinstance(manager.address, tuple) else socket.socket()
    raw.connect(manager.address)
    raw.sendall(b"\xff" * 64 + b"garbage before authentication")
    try:
        shared = manager.list([1])  # served while one client is silent and one sends garbage
        assert shared[:] == [1]
    finally:
        raw.close()
        if silent is not None:
            silent.close()


def test_garbage_after_authentication_fails_that_request_only(manager) -> None:
    connection = Client(manager.address, authkey=bytes(manager._authkey))
    try:
        connection.send_bytes(b"not a pickle at all")
        status, payload = connection.recv()
        assert status == 3 and "could not decode" in payload
        connection.send(("no-such-op", None, None, (), {}))
        assert connection.recv()[0] == 3
        connection.send(("call", "ffff", "append", (1,), {}))
        status, payload = connection.recv()
        assert status == 3 and "no shared object" in payload
        connection.send(("too", "short"))
        assert connection.recv()[0] == 3
        connection.send(("ping", None, None, (), {}))
        assert connection.recv() == (0, "pong")
    finally:
        connection.close()


def test_use_after_shutdown_is_a_clear_error(ctx) -> None:
    manager = SyncManager(ctx=ctx)
    manager.start()
    shared = manager.list([1])
    manager.shutdown()
    with pytest.raises(RemoteError, match=r"lost the connection|shut down"):
        shared.append(2)
    with pytest.raises(RuntimeError, match="shutdown"):
        manager.list()


def test_use_after_shutdown_from_a_thread_without_a_connection_is_a_clear_error(ctx) -> None:
    # A thread that never called the server has no connection to find closed: it must
    # get the same clear error when it connects to a server that is gone.
    manager = SyncManager(ctx=ctx)
    manager.start()
    shared = manager.list([1])
    manager.shutdown()
    errors: list[BaseException] = []

    def use() -> None:
        try:
            shared.append(2)
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=use)
    thread.start()
    thread.join(30)
    assert len(errors) == 1
    assert isinstance(errors[0], RemoteError), repr(errors[0])
    assert "shut down" in str(errors[0])


def test_shutdown_reaches_the_server_without_a_connection(ctx, monkeypatch) -> None:
    # The started server is stopped through the pipe it was started with: no client
    # connection (and no handshake) is needed.  Were shutdown still a request, the
    # refused connection would leave the server running until it was terminated.
    import processing_managers._manager as manager_module

    manager = SyncManager(ctx=ctx, shutdown_timeout=5.0)
    manager.start()
    process = manager._process

    def refuse(*args, **kwargs):
        raise OSError("no connection for shutdown")

    monkeypatch.setattr(manager_module, "request", refuse)
    manager.shutdown()
    assert not process.is_alive()
    assert process.exitcode == 0


def test_server_stops_when_its_control_pipe_ends(ctx) -> None:
    # The starting process gone (or its end of the control pipe closed without a
    # word) is the same as a shutdown request: the server exits cleanly.
    manager = SyncManager(ctx=ctx)
    manager.start()
    process = manager._process
    control = manager._shutdown._args[1]
    manager._shutdown.cancel()
    control.close()
    process.join(30)
    assert process.exitcode == 0


def test_a_clients_shutdown_request_stops_a_started_server(ctx) -> None:
    # The serving thread watches the control pipe and the parent; a shutdown asked
    # by a client over the socket must wake it too.
    from processing_managers import _wire
    from processing_managers._proxy import request

    manager = SyncManager(ctx=ctx)
    manager.start()
    try:
        status, payload = request(manager.address, bytes(manager._authkey), "pickle", _wire.OP_SHUTDOWN)
        assert (status, payload) == (_wire.RETURN, "shutting down")
        manager.join(30)
        assert manager._process.exitcode == 0
    finally:
        manager.shutdown()


def test_state_errors_and_bad_arguments() -> None:
    manager = SyncManager()
    with pytest.raises(RuntimeError, match="initial"):
        manager.list()
    with pytest.raises(ValueError, match="serializer"):
        SyncManager(serializer="yaml")
    with pytest.raises(TypeError, match="authkey"):
        SyncManager(authkey="text")
    with pytest.raises(ValueError, match="address"):
        BaseManager().connect()


def test_xmlrpclib_serializer_carries_plain_data(ctx) -> None:
    with SyncManager(ctx=ctx, serializer="xmlrpclib") as manager:
        shared = manager.dict()
        shared["a"] = [1, 2]
        assert shared["a"] == [1, 2]


def test_get_server_serve_forever_in_a_thread() -> None:
    manager = targets.CounterManager(address=("127.0.0.1", 0), authkey=b"in-process")
    server = manager.get_server()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        client = targets.CounterManager(address=server.address, authkey=b"in-process")
        client.connect()
        assert client.Counter(1).increment() == 2
    finally:
        server.stop()
        thread.join(10)


def test_shared_memory_manager_unlinks_its_segments(ctx) -> None:
    import os

    with SharedMemoryManager(ctx=ctx) as manager:
        segment = manager.SharedMemory(128)
        segment.buf[:3] = b"abc"
        shareable = manager.ShareableList([1, "two", 3.0, None, b"five", True])
        assert list(shareable) == [1, "two", 3.0, None, b"five", True]
        names = [segment.name, shareable.shm.name]
        segment.close()
        shareable.shm.close()
    for name in names:
        assert not os.path.exists("/dev/shm/" + name.lstrip("/"))


def test_namespace_repr_outside_a_manager() -> None:
    assert repr(Namespace(b=2, a=1)) == "Namespace(a=1, b=2)"


def test_context_manager_method(ctx) -> None:
    manager = ctx.Manager()
    try:
        assert manager.list([1])[:] == [1]
    finally:
        manager.shutdown()


def test_server_dies_with_its_parent(tmp_path) -> None:
    import subprocess
    import sys
    import textwrap

    script = tmp_path / "orphan.py"
    script.write_text(
        textwrap.dedent(
            """
        import os, sys
        from processing_managers import SyncManager
        if __name__ == "__main__":
            manager = SyncManager()
            manager.start()
            print(manager._process.pid, flush=True)
            os._exit(0)  # the parent vanishes without shutting the manager down
        """
        )
    )
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    server_pid = int(result.stdout.split()[0])
    import time

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{server_pid}/stat") as f:
                if f.read().split(") ")[1].split()[0] == "Z":
                    break
        except FileNotFoundError:
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"the manager's server {server_pid} outlived its parent")
