"""Connections across processes, under every start method."""

from __future__ import annotations

import hashlib
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # spawned children import the targets by name
import connection_targets as targets
import processing_core
from processing_core.connection import Listener, Pipe, wait


def run(ctx, target, *args):
    process = ctx.Process(target=target, args=args)
    process.start()
    return process


@pytest.mark.parametrize("duplex", [True, False], ids=["duplex", "oneway"])
def test_pipe_ends_handed_to_a_child(ctx, duplex):
    if duplex:
        mine, theirs = Pipe()
        process = run(ctx, targets.echo, theirs)
        theirs.close()
        for message in (b"", b"x", os.urandom(70_000), os.urandom(4 * 1024 * 1024)):
            mine.send_bytes(message)
            assert mine.recv_bytes() == message
        mine.send_bytes(b"stop")
        mine.close()
    else:
        reader, writer = Pipe(duplex=False)
        result_reader, result_writer = Pipe(duplex=False)
        process = run(ctx, targets.report_digest, reader, result_writer)
        reader.close()
        result_writer.close()
        data = os.urandom(16 * 1024 * 1024)
        writer.send_bytes(data)
        assert result_reader.recv() == (len(data), hashlib.sha256(data).hexdigest())
        writer.close()
        result_reader.close()
    process.join(30)
    assert process.exitcode == 0


def test_connection_sent_to_a_running_child(ctx):
    """Outside start-up a connection travels through the resource sharer."""
    carrier_here, carrier_there = Pipe()
    process = run(ctx, targets.receive_connection_and_use_it, carrier_there)
    carrier_there.close()
    passed, kept = Pipe()
    carrier_here.send(passed)
    passed.close()
    message, pid = kept.recv()
    assert message == "hello through a passed connection"
    assert pid == process.pid
    assert carrier_here.recv() == "done"
    process.join(30)
    assert process.exitcode == 0
    carrier_here.close()
    kept.close()


@pytest.mark.parametrize("family", ["AF_UNIX", "AF_INET"])
def test_child_client_authenticates_with_the_process_authkey(ctx, family):
    with Listener(family=family, authenticate=True) as listener:
        process = run(ctx, targets.client_of, listener.address, True, {"from": "child"})
        with listener.accept() as conn:
            message = conn.recv()
            conn.send(("ack", message))
        process.join(30)
    assert message == {"from": "child"}
    assert process.exitcode == 0


def test_child_with_wrong_key_is_refused(ctx):
    with Listener(family="AF_UNIX", authkey=b"not the process authkey") as listener:
        process = run(ctx, targets.client_of, listener.address, True, "intruder")
        with pytest.raises(processing_core.AuthenticationError):
            listener.accept()
        process.join(30)
    assert process.exitcode == 1


def test_wait_on_sentinels_and_connections(ctx):
    mine, theirs = Pipe()
    sleeper = run(ctx, targets.sleep_then_send, theirs, 0.3, "awake")
    theirs.close()
    quick = run(ctx, targets.sleep_then_send, Pipe()[1], 0.0, "ignored")
    pending = [mine, sleeper.sentinel, quick.sentinel]
    seen = []
    while pending:
        ready = wait(pending, timeout=30)
        assert ready, "wait timed out"
        for obj in ready:
            if obj is mine:
                seen.append(mine.recv())
            else:
                seen.append("exited")
            pending.remove(obj)
    assert sorted(seen, key=str) == ["awake", "exited", "exited"]
    sleeper.join()
    quick.join()
    mine.close()
