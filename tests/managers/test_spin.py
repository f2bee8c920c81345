"""The brief spin before a manager connection's receive: it never reads, never hangs, backs off."""

from __future__ import annotations

import processing_sync  # noqa: F401 - gives contexts their SimpleQueue
import pytest
from processing_core import Pipe
from processing_core._listener import Client
from processing_managers import SyncManager
from processing_managers._spin import SpinWait


@pytest.mark.timeout(30)
def test_a_wait_for_nothing_returns_and_backs_off() -> None:
    left, right = Pipe()
    try:
        spin = SpinWait(left)
        spin.wait()  # nothing is coming: the spin gives up and the caller would block
        first_pause = spin._skip
        assert first_pause != 0  # it spins no more for a while (or never, on one CPU)
        for _ in range(max(first_pause, 0)):
            spin.wait()
        spin.wait()  # a second miss in a row: a longer pause
        assert first_pause < 0 or spin._skip > first_pause
        right.send("late")
        assert left.recv() == "late"  # the spin read nothing
    finally:
        left.close()
        right.close()


@pytest.mark.timeout(30)
def test_a_message_read_ahead_into_memory_counts_as_waiting() -> None:
    left, right = Pipe()
    try:
        right.send("one")
        right.send("two")
        assert left.recv() == "one"  # may read "two" ahead into the connection's memory
        spin = SpinWait(left)
        spin.wait()
        assert spin._misses == 0
        assert left.recv() == "two"
    finally:
        left.close()
        right.close()


def test_a_closed_connection_is_an_error_not_a_spin() -> None:
    left, right = Pipe()
    spin = SpinWait(left)
    spin._skip = 0
    left.close()
    right.close()
    with pytest.raises(OSError):
        spin.wait()


@pytest.mark.timeout(60)
def test_requests_sent_back_to_back_are_all_answered(ctx) -> None:
    # A client that does not wait for each reply: the server reads ahead several
    # requests at once and must answer every one (its spin sees them in memory).
    with SyncManager(ctx=ctx) as manager:
        shared = manager.list()
        connection = Client(manager.address, authkey=bytes(manager._authkey))
        try:
            for value in range(20):
                connection.send(("call", shared._id, "append", (value,), {}))
            replies = [connection.recv() for _ in range(20)]
        finally:
            connection.close()
        assert replies == [(0, None)] * 20
        assert shared[:] == list(range(20))
