"""Fault-injection scenarios, run as a script: ``python fault_family.py SCENARIO HOW``.

Each scenario builds a small family of processes, lets one participant die by ``HOW``
(``sigkill``, ``sigterm``, ``segfault`` or ``exit``) at a chosen moment, then exercises
the survivors and prints one JSON line ``RESULT {...}`` describing what they saw.  Every
wait has a timeout, so a hang shows up as a missing result instead of a stuck suite;
the test that runs the script also bounds it with a subprocess timeout.

The ``parent`` scenario prints ``READY`` and then dies itself (or waits to be killed):
the test checks what is left of its family afterwards.
"""

from __future__ import annotations

import array
import ctypes
import fcntl
import json
import os
import queue
import signal
import stat
import sys
import termios
import threading
import time
from typing import Any

WAIT = 30.0
STOP_IN_PUT, STOP_IN_GET = 1, 2
EXPECTED_EXITCODE = {"sigkill": -signal.SIGKILL, "sigterm": -signal.SIGTERM, "segfault": -signal.SIGSEGV, "exit": 7}


def die(how: str) -> None:
    """End this process now, the way ``how`` says."""
    if how == "sigkill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif how == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
    elif how == "segfault":
        ctypes.string_at(0)
    elif how == "exit":
        os._exit(7)
    time.sleep(WAIT)
    raise AssertionError(f"still alive after {how}")


# ------------------------------------------------------------------ child targets


def hold_and_die(lock: Any, held: Any, how: str) -> None:
    lock.acquire()
    held.set()
    die(how)


def stop_in_ring_and_die(q: Any, where: int, how: str) -> None:
    """Stop inside a put or get while holding the ring's lock, then die from another thread."""
    from processing_core._native import lib

    before = lib.prc_ring_debug_stops(q._ring._handle)

    def die_once_stopped() -> None:
        deadline = time.monotonic() + WAIT
        while lib.prc_ring_debug_stops(q._ring._handle) == before and time.monotonic() < deadline:
            time.sleep(0.005)
        die(how)

    threading.Thread(target=die_once_stopped, daemon=True).start()
    lib.prc_ring_debug_stop_at(where)
    if where == STOP_IN_GET:
        q.get()
    else:
        q.put(b"x" * 1000)
    time.sleep(WAIT)


def block_on_get(q: Any) -> None:
    q.get()


def die_after(delay: float, how: str) -> None:
    """Die by ``how`` from a thread after ``delay`` seconds, whatever the main thread does."""

    def later() -> None:
        time.sleep(delay)
        die(how)

    threading.Thread(target=later, daemon=True).start()


def die_once_pipe_holds_bytes(fd: int, how: str) -> None:
    """Die by ``how`` from a thread once the pipe or socket ``fd`` holds part of a message.

    A fixed delay is not enough: on a loaded machine the main thread may not have
    written a byte yet when it runs out, and the reader then sees a clean end of file.
    """

    # A socket counts what it sent and its peer has not read yet (TIOCOUTQ, which is
    # SIOCOUTQ); a pipe counts what it holds, from either end (FIONREAD).
    request = termios.TIOCOUTQ if stat.S_ISSOCK(os.fstat(fd).st_mode) else termios.FIONREAD

    def once_written() -> None:
        deadline = time.monotonic() + WAIT
        waiting = array.array("i", [0])
        while time.monotonic() < deadline:
            fcntl.ioctl(fd, request, waiting)
            if waiting[0] > 0:
                break
            time.sleep(0.005)
        time.sleep(0.05)  # let the writer fill the pipe and block in the middle of the message
        die(how)

    threading.Thread(target=once_written, daemon=True).start()


def send_big_and_die(writer: Any, how: str) -> None:
    die_once_pipe_holds_bytes(writer.fileno(), how)
    writer.send_bytes(b"y" * (256 << 20))  # the reader is not reading: blocks part-way
    time.sleep(WAIT)


def call_and_die(event: Any, shared: Any, how: str) -> None:
    shared.append("client started")
    die_after(0.3, how)
    event.wait()  # blocked in a proxy call when it dies


class Bomb:
    """A managed object whose method kills the manager's server mid-call."""

    def explode(self, how: str) -> None:
        die(how)

    def ping(self) -> str:
        return "pong"


# ---------------------------------------------------------------------- scenarios


START_METHOD = "fork"


def _ctx(method: str | None = None) -> Any:
    import processing

    return processing.get_context(method or START_METHOD)


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:300]


def _no_children_left() -> list[int]:
    """Join what is left (bounded) and return the pids of children still alive or unreaped."""
    import processing

    deadline = time.monotonic() + WAIT
    while processing.active_children() and time.monotonic() < deadline:
        time.sleep(0.02)
    return [p.pid for p in processing.active_children()]


def lock_holder(how: str) -> dict:
    ctx = _ctx()
    lock, held = ctx.Lock(), ctx.Event()
    child = ctx.Process(target=hold_and_die, args=(lock, held, how))
    child.start()
    assert held.wait(WAIT), "the child never took the lock"
    child.join(WAIT)
    try:
        got = lock.acquire(True, WAIT)
        survivor = f"acquired={got}"
    except Exception as exc:
        survivor = type(exc).__name__
    fresh = ctx.Lock()
    return {"exitcode": child.exitcode, "survivor": survivor, "fresh_lock": fresh.acquire(True, WAIT)}


def _ring_scenario(how: str, where: int) -> dict:
    ctx = _ctx()
    q = ctx.Queue()
    q.put_many(["a", "b"])
    child = ctx.Process(target=stop_in_ring_and_die, args=(q, where, how))
    child.start()
    child.join(WAIT)
    got = []
    try:
        got = [q.get(timeout=WAIT), q.get(timeout=WAIT)]
        q.put("after")
        got.append(q.get(timeout=WAIT))
        try:
            extra = q.get(timeout=0.1)
            got.append(("unexpected", repr(extra)))
        except queue.Empty:
            pass
        survivor = "recovered"
    except Exception as exc:
        survivor = _error(exc)
    q.close()
    q.join_thread()
    return {"exitcode": child.exitcode, "survivor": survivor, "items": got}


def producer_mid_put(how: str) -> dict:
    return _ring_scenario(how, STOP_IN_PUT)


def consumer_mid_get(how: str) -> dict:
    return _ring_scenario(how, STOP_IN_GET)


def pool_worker_mid_task(how: str) -> dict:
    ctx = _ctx()
    with ctx.Pool(2) as pool:
        result = pool.apply_async(die, (how,))
        try:
            result.get(WAIT)
            survivor = "no error"
        except Exception as exc:
            survivor = _error(exc)
        after = pool.map_async(abs, range(-20, 0)).get(WAIT)
        pool.close()
        pool.join()
    return {"survivor": survivor, "after": after == list(range(20, 0, -1)), "left": _no_children_left()}


def manager_server_mid_call(how: str) -> dict:
    from processing_managers import BaseManager

    class BombManager(BaseManager):
        pass

    BombManager.register("Bomb", Bomb)
    manager = BombManager(ctx=_ctx())
    manager.start()
    bomb = bomb_outcome = None
    bomb = manager.Bomb()
    assert bomb.ping() == "pong"
    outcome: dict = {}

    def call() -> None:
        try:
            bomb.explode(how)
            outcome["survivor"] = "returned"
        except BaseException as exc:
            outcome["survivor"] = type(exc).__name__

    caller = threading.Thread(target=call, daemon=True)
    caller.start()
    caller.join(WAIT)
    bomb_outcome = outcome.get("survivor", "hung")
    try:
        bomb.ping()
        after = "served"
    except Exception as exc:
        after = type(exc).__name__
    manager.shutdown()
    return {
        "exitcode": manager._process.exitcode,
        "survivor": bomb_outcome,
        "after": after,
        "left": _no_children_left(),
    }


def sender_mid_send(how: str) -> dict:
    ctx = _ctx()
    reader, writer = ctx.Pipe()
    child = ctx.Process(target=send_big_and_die, args=(writer, how))
    child.start()
    writer.close()
    child.join(WAIT)
    try:
        assert reader.poll(WAIT)
        data = reader.recv_bytes()
        survivor = f"got {len(data)} bytes"
    except Exception as exc:
        survivor = _error(exc)
    reader.close()
    return {"exitcode": child.exitcode, "survivor": survivor}


def manager_client_mid_call(how: str) -> dict:
    import processing

    ctx = _ctx()
    with processing.Manager() as manager:
        event, shared = manager.Event(), manager.list()
        child = ctx.Process(target=call_and_die, args=(event, shared, how))
        child.start()
        child.join(WAIT)
        # The server lost a client in the middle of a call: it serves the others.
        shared.append("after")
        event.set()
        result = {"exitcode": child.exitcode, "survivor": shared[:], "set": event.is_set()}
    result["left"] = _no_children_left()
    return result


def _wait_gone(pid: int) -> bool:
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.02)
    return False


def forkserver(how: str) -> dict:
    from processing_core import _forkserver

    ctx = _ctx("forkserver")
    long_lived = ctx.Process(target=time.sleep, args=(0.5,))
    long_lived.start()
    server = _forkserver._server
    assert server is not None
    os.kill(server.pid, {"sigkill": signal.SIGKILL, "sigterm": signal.SIGTERM}[how])
    gone = _wait_gone(server.pid)
    long_lived.join(WAIT)
    try:
        after = ctx.Process(target=time.sleep, args=(0,))
        after.start()
        after.join(WAIT)
        survivor = f"restarted exitcode={after.exitcode}"
    except Exception as exc:
        survivor = _error(exc)
    new_server = _forkserver._server
    return {
        "server_gone": gone,
        "earlier_child": long_lived.exitcode,
        "survivor": survivor,
        "new_server": new_server is not None and new_server.pid != server.pid,
        "left": _no_children_left(),
    }


def resource_tracker(how: str) -> dict:
    from processing_core import SharedMemory, _resource_tracker

    first = SharedMemory(create=True, size=4096)
    pid = _resource_tracker.tracker_pid()
    assert pid is not None
    os.kill(pid, {"sigkill": signal.SIGKILL, "sigterm": signal.SIGTERM}[how])
    gone = _wait_gone(pid)
    try:
        second = SharedMemory(create=True, size=4096)
        second.buf[0] = 1
        second.close()
        second.unlink()
        survivor = "created"
    except Exception as exc:
        survivor = _error(exc)
    first.close()
    first.unlink()
    new_pid = _resource_tracker.tracker_pid()
    return {"tracker_gone": gone, "survivor": survivor, "new_tracker": new_pid is not None and new_pid != pid}


def parent(how: str) -> None:
    """Build a whole family, report it, then die (or wait to be killed by the test)."""
    import processing
    from processing_core import SharedMemory

    ctx = processing.get_context("fork")
    q = ctx.Queue()
    q.put_many(range(100))
    child = ctx.Process(target=block_on_get, args=(q,))  # takes one item and ends
    child.start()
    child.join(WAIT)
    pool = ctx.Pool(2)
    assert pool.map(abs, range(-4, 0)) == [4, 3, 2, 1]
    manager = processing.Manager()
    shared = manager.list([1, 2])
    assert shared[:] == [1, 2]
    segment = SharedMemory(create=True, size=4096)
    fs_child = processing.get_context("forkserver").Process(target=time.sleep, args=(0,))
    fs_child.start()
    fs_child.join(WAIT)
    print("READY", segment.name, flush=True)
    sys.stdin.readline()  # the test has seen the family: now die
    if how in ("sigkill", "sigterm"):
        time.sleep(WAIT * 4)  # the test kills us
    die(how)


SCENARIOS = {
    "lock_holder": lock_holder,
    "producer_mid_put": producer_mid_put,
    "consumer_mid_get": consumer_mid_get,
    "pool_worker_mid_task": pool_worker_mid_task,
    "sender_mid_send": sender_mid_send,
    "manager_client_mid_call": manager_client_mid_call,
    "manager_server_mid_call": manager_server_mid_call,
    "forkserver": forkserver,
    "resource_tracker": resource_tracker,
    "parent": parent,
}


if __name__ == "__main__":
    scenario, how = sys.argv[1], sys.argv[2]
    if len(sys.argv) > 3:
        START_METHOD = sys.argv[3]
    result = SCENARIOS[scenario](how)
    print("RESULT", json.dumps(result), flush=True)
