"""The submodule names multiprocessing users import that came last: each one really works.

``processing.reduction.sendfds``/``recvfds``, ``processing.util.close_all_fds_except``,
the context class of each start method in ``processing.context``, and
``processing.heap.BufferWrapper``.
"""

from __future__ import annotations

import os
import pickle
import socket
from typing import Any

import processing
import processing.context
import processing.heap
import processing.managers
import processing.reduction
import processing.util
import processing_core
import pytest

# ------------------------------------------------------------------ fd passing


def _child_writes_into_received_fds(sock: socket.socket) -> None:
    fds = processing.reduction.recvfds(sock, 2)
    for fd, payload in zip(fds, (b"first", b"second")):
        os.write(fd, payload)
        os.close(fd)
    sock.close()


def _child_sends_pipes(sock: socket.socket) -> None:
    ends = []
    for payload in (b"one", b"two", b"three"):
        read_end, write_end = os.pipe()
        os.write(write_end, payload)
        os.close(write_end)
        ends.append(read_end)
    processing.reduction.sendfds(sock, ends)
    for fd in ends:
        os.close(fd)
    sock.recv(1)  # wait until the parent has them: closing early must not matter, but be plain
    sock.close()


def test_fds_pass_from_parent_to_child(start_method: str) -> None:
    ctx = processing.get_context(start_method)
    parent_sock, child_sock = socket.socketpair()
    pipes = [os.pipe(), os.pipe()]
    try:
        proc = ctx.Process(target=_child_writes_into_received_fds, args=(child_sock,))
        proc.start()
        child_sock.close()
        processing.reduction.sendfds(parent_sock, [write_end for _, write_end in pipes])
        for _, write_end in pipes:
            os.close(write_end)
        proc.join(60)
        assert proc.exitcode == 0
        assert [os.read(read_end, 100) for read_end, _ in pipes] == [b"first", b"second"]
    finally:
        parent_sock.close()
        for read_end, _ in pipes:
            os.close(read_end)


def test_fds_pass_from_child_to_parent(start_method: str) -> None:
    ctx = processing.get_context(start_method)
    parent_sock, child_sock = socket.socketpair()
    try:
        proc = ctx.Process(target=_child_sends_pipes, args=(child_sock,))
        proc.start()
        child_sock.close()
        fds = processing.reduction.recvfds(parent_sock, 3)
        parent_sock.send(b"k")
        assert isinstance(fds, list) and all(isinstance(fd, int) for fd in fds)
        try:
            assert [os.read(fd, 100) for fd in fds] == [b"one", b"two", b"three"]
            assert not any(os.get_inheritable(fd) for fd in fds)
        finally:
            for fd in fds:
                os.close(fd)
        proc.join(60)
        assert proc.exitcode == 0
    finally:
        parent_sock.close()


def test_recvfds_raises_when_fewer_arrive() -> None:
    left, right = socket.socketpair()
    read_end, write_end = os.pipe()
    try:
        processing.reduction.sendfds(left, [read_end])
        with pytest.raises(RuntimeError, match=r"expected 2 file descriptor\(s\) but received 1"):
            processing.reduction.recvfds(right, 2)
        processing.reduction.sendfds(left, [read_end, write_end, read_end])
        with pytest.raises(RuntimeError, match="the sender sent 3"):
            processing.reduction.recvfds(right, 2)
        left.close()
        with pytest.raises(EOFError):
            processing.reduction.recvfds(right, 1)
    finally:
        left.close()
        right.close()
        os.close(read_end)
        os.close(write_end)


def test_fd_passing_rejects_bad_input() -> None:
    left, right = socket.socketpair()
    try:
        with pytest.raises(ValueError, match="at least one"):
            processing.reduction.sendfds(left, [])
        with pytest.raises(ValueError, match="int file descriptors"):
            processing.reduction.sendfds(left, ["0"])
        with pytest.raises(ValueError, match="positive int"):
            processing.reduction.recvfds(right, 0)
    finally:
        left.close()
        right.close()


def test_fd_passing_works_over_a_connection() -> None:
    # Like send_handle, the functions take anything with fileno(): a Connection too.
    here, there = processing.Pipe()
    read_end, write_end = os.pipe()
    try:
        processing.reduction.sendfds(here, [write_end])
        (received,) = processing.reduction.recvfds(there, 1)
        os.write(received, b"via connection")
        os.close(received)
        os.close(write_end)
        write_end = -1
        assert os.read(read_end, 100) == b"via connection"
    finally:
        here.close()
        there.close()
        os.close(read_end)
        if write_end >= 0:
            os.close(write_end)


# ------------------------------------------------------------------ close_all_fds_except


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def _child_closes_all_but(conn: Any) -> None:
    kept_read, dropped_write = os.pipe()
    dropped_read, other_write = os.pipe()
    keep = [0, 1, 2, conn.fileno(), kept_read]
    processing.util.close_all_fds_except(keep)
    opened = sorted(int(name) for name in os.listdir("/proc/self/fd")) if os.path.isdir("/proc/self/fd") else None
    conn.send(
        {
            "kept": [_is_open(fd) for fd in keep],
            "dropped": [_is_open(fd) for fd in (dropped_write, dropped_read, other_write)],
            "opened": opened,
            "keep": keep,
        }
    )
    conn.close()


def test_close_all_fds_except_closes_the_others_in_a_child(start_method: str) -> None:
    ctx = processing.get_context(start_method)
    here, there = ctx.Pipe()
    proc = ctx.Process(target=_child_closes_all_but, args=(there,))
    proc.start()
    there.close()
    report = here.recv()
    here.close()
    proc.join(60)
    assert report["kept"] == [True] * 5
    assert report["dropped"] == [False, False, False]
    if report["opened"] is not None:
        # Everything left open is a keeper, but for the descriptor that listed the directory.
        assert len(set(report["opened"]) - set(report["keep"])) <= 1
    assert proc.exitcode == 0


def test_close_all_fds_except_rejects_non_ints() -> None:
    with pytest.raises(TypeError, match="int file descriptors"):
        processing.util.close_all_fds_except(["3"])  # type: ignore[list-item]


# ------------------------------------------------------------------ contexts


def test_each_start_method_has_its_own_context_class() -> None:
    ctx_mod = processing.context
    classes = {
        "fork": ctx_mod.ForkContext,
        "spawn": ctx_mod.SpawnContext,
        "forkserver": ctx_mod.ForkServerContext,
    }
    assert len(set(classes.values())) == 3
    assert ctx_mod.ForkContext is not ctx_mod.SpawnContext
    for method, cls in classes.items():
        ctx = processing.get_context(method)
        assert isinstance(ctx, cls)
        assert isinstance(ctx, ctx_mod.BaseContext)
        assert not isinstance(ctx, ctx_mod.DefaultContext)
        assert ctx.get_start_method() == method
        assert repr(ctx) == f"<{cls.__name__} {method!r}>"
        assert cls.__doc__
    assert processing.get_context("fork").Process is ctx_mod.ForkProcess
    assert processing.get_context("spawn").Process is ctx_mod.SpawnProcess
    assert processing.get_context("forkserver").Process is ctx_mod.ForkServerProcess
    assert isinstance(processing.context.get_context.__self__, ctx_mod.DefaultContext)  # type: ignore[attr-defined]
    for name in ("BaseContext", "DefaultContext", "ForkContext", "SpawnContext", "ForkServerContext"):
        assert getattr(ctx_mod, name) is getattr(processing_core, name)


def test_a_concrete_context_cannot_change_its_start_method() -> None:
    with pytest.raises(ValueError, match="concrete context"):
        processing.get_context("spawn").set_start_method("fork")


# ------------------------------------------------------------------ BufferWrapper


def _child_fills(wrapper: processing.heap.BufferWrapper, value: int) -> None:
    view = wrapper.create_memoryview()
    view[:] = bytes([value]) * len(view)


def test_buffer_wrapper_is_shared_with_a_child(start_method: str) -> None:
    ctx = processing.get_context(start_method)
    wrapper = processing.heap.BufferWrapper(100)
    view = wrapper.create_memoryview()
    assert len(view) == 100 and view.format == "B" and not view.readonly
    assert bytes(view) == bytes(100)
    proc = ctx.Process(target=_child_fills, args=(wrapper, 7))
    proc.start()
    proc.join(60)
    assert proc.exitcode == 0
    assert bytes(view) == bytes([7]) * 100
    assert bytes(wrapper.create_memoryview()) == bytes([7]) * 100
    view.release()


def test_buffer_wrapper_memory_is_zeroed_when_reused() -> None:
    for _ in range(3):
        wrapper = processing.heap.BufferWrapper(48)
        view = wrapper.create_memoryview()
        assert bytes(view) == bytes(48)
        view[:] = b"\xff" * 48
        view.release()
        del wrapper, view


def test_buffer_wrapper_rejects_bad_sizes_and_pickle() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        processing.heap.BufferWrapper(-1)
    with pytest.raises(TypeError, match="must be an int"):
        processing.heap.BufferWrapper(1.5)  # type: ignore[arg-type]
    assert len(processing.heap.BufferWrapper(0).create_memoryview()) == 0
    with pytest.raises(RuntimeError, match="through inheritance"):
        pickle.dumps(processing.heap.BufferWrapper(8))


# ------------------------------------------------------------------ RebuildProxy


class _RebuildingListProxy(processing.managers.ListProxy):
    """A custom proxy whose pickle names RebuildProxy, as multiprocessing code writes it."""

    def __reduce__(self) -> tuple[Any, ...]:
        return processing.managers.RebuildProxy, (
            type(self),
            self._token,
            self._serializer,
            {"exposed": self._exposed},
        )


class _RebuildingManager(processing.managers.BaseManager):
    pass


_RebuildingManager.register("List", list, proxytype=_RebuildingListProxy)


def _child_appends(proxy: Any, value: int) -> None:
    proxy.append(value)


def test_rebuild_proxy_makes_a_working_proxy_with_its_own_reference() -> None:
    with processing.Manager() as manager:
        shared = manager.list([1])
        kwds = {"exposed": shared._exposed}
        twin = processing.managers.RebuildProxy(type(shared), shared._token, shared._serializer, kwds)
        assert kwds == {"exposed": shared._exposed}  # not modified
        auto = processing.managers.RebuildProxy(processing.managers.AutoProxy, shared._token, "pickle", {})
        del shared  # the original's reference goes back; the twins hold their own
        twin.append(2)
        auto.append(3)
        assert list(twin) == [1, 2, 3]
        assert twin._getvalue() == auto._getvalue() == [1, 2, 3]


def test_a_proxy_pickled_with_rebuild_proxy_works_in_a_child(start_method: str) -> None:
    ctx = processing.get_context(start_method)
    with _RebuildingManager(ctx=ctx) as manager:
        shared = manager.List()  # type: ignore[attr-defined]
        assert isinstance(shared, _RebuildingListProxy)
        proc = ctx.Process(target=_child_appends, args=(shared, 5))
        proc.start()
        proc.join(60)
        assert proc.exitcode == 0
        copy = pickle.loads(pickle.dumps(shared))
        assert isinstance(copy, _RebuildingListProxy)
        copy.append(6)
        assert shared._getvalue() == [5, 6]
