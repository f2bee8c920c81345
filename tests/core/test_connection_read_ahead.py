"""Read-ahead, quick calls, big pipes and the receive spin of connections."""

from __future__ import annotations

import hashlib
import os
import pickle
import signal
import socket
import sys
import threading

import processing_core
import pytest
from processing_core import BufferTooShort
from processing_core._reduction import ForkingPickler
from processing_core.connection import Pipe, recv_handle, send_handle, wait

if sys.platform.startswith("linux"):
    import fcntl

    F_GETPIPE_SZ = getattr(fcntl, "F_GETPIPE_SZ", 1032)


def test_pipes_read_ahead_and_sockets_do_not():
    reader, writer = Pipe(duplex=False)
    left, right = Pipe()
    with reader, writer, left, right:
        assert reader.read_ahead is True
        assert left.read_ahead is False and right.read_ahead is False


def test_one_read_serves_many_messages_in_order(pipe):
    reader, writer = pipe
    messages = [i.to_bytes(4, "big") * (i % 7) for i in range(200)]
    for message in messages:
        writer.send_bytes(message)
    assert reader.recv_bytes() == messages[0]
    assert reader.buffered_bytes() > 0  # the rest came in with the first read
    assert [reader.recv_bytes() for _ in messages[1:]] == messages[1:]
    assert reader.buffered_bytes() == 0


def test_poll_and_wait_see_buffered_messages(pipe):
    reader, writer = pipe
    other_reader, other_writer = Pipe(duplex=False)
    with other_reader, other_writer:
        writer.send("first")
        writer.send("second")
        assert reader.recv() == "first"
        assert reader.buffered_bytes() > 0
        # The descriptor itself has nothing left: only the buffer says "ready".
        assert processing_core._native.lib.prc_fd_poll_readable(reader.fileno(), 0) == 0
        assert reader.poll() is True
        assert reader.poll(None) is True
        assert wait([other_reader, reader], timeout=None) == [reader]
        assert wait([reader], timeout=0) == [reader]
        assert reader.recv() == "second"
        assert reader.poll() is False
        assert wait([reader, other_reader], timeout=0) == []
        other_writer.send("third")
        assert wait([reader, other_reader], timeout=5) == [other_reader]


def test_read_ahead_off_reads_one_message(pipe):
    reader, writer = pipe
    reader.read_ahead = False
    for message in (b"a", b"bb", b"ccc"):
        writer.send_bytes(message)
    assert reader.recv_bytes() == b"a"
    assert reader.buffered_bytes() == 0
    assert reader.poll()
    assert reader.recv_bytes() == b"bb"
    reader.read_ahead = True
    assert reader.recv_bytes() == b"ccc"


def test_recv_bytes_into_and_maxlength_with_buffered_messages(pipe):
    reader, writer = pipe
    for message in (b"12345678", b"0123456789abcdef", b"tail"):
        writer.send_bytes(message)
    buffer = bytearray(8)
    assert reader.recv_bytes_into(buffer) == 8 and buffer == b"12345678"
    with pytest.raises(BufferTooShort) as caught:
        reader.recv_bytes_into(buffer)
    assert caught.value.args[0] == b"0123456789abcdef"
    assert reader.recv_bytes() == b"tail"
    writer.send_bytes(b"x" * 100)
    with pytest.raises(OSError, match="bad message length"):
        reader.recv_bytes(maxlength=10)


def test_max_message_size_checked_on_buffered_headers(pipe):
    reader, writer = pipe
    reader.max_message_size = 16
    writer.send_bytes(b"ok")
    writer.send_bytes(b"y" * 17)
    assert reader.recv_bytes() == b"ok"
    with pytest.raises(OSError, match="at most 16 allowed"):
        reader.recv_bytes()
    assert reader.closed


def test_pickling_refused_while_bytes_are_buffered(pipe):
    reader, writer = pipe
    writer.send(1)
    writer.send(2)
    assert reader.recv() == 1
    with pytest.raises(RuntimeError, match="read-ahead buffer"):
        ForkingPickler.dumps(reader)
    assert reader.recv() == 2  # refusing lost nothing
    clone = pickle.loads(ForkingPickler.dumps(reader))
    with clone:
        writer.send(3)
        assert clone.recv() == 3


def test_recv_handle_refused_after_a_read_ahead_swallowed_it():
    left, right = Pipe()
    read_fd, write_fd = os.pipe()
    with left, right:
        try:
            right.read_ahead = True  # unsafe on a socket that carries descriptors: shown here
            left.send("before")
            send_handle(left, write_fd)
            assert right.recv() == "before"
            with pytest.raises(RuntimeError, match="read-ahead buffer"):
                recv_handle(right)
        finally:
            os.close(read_fd)
            os.close(write_fd)


def test_handles_pass_between_messages_on_a_duplex_pipe():
    left, right = Pipe()
    read_fd, write_fd = os.pipe()
    with left, right:
        try:
            left.send("before")
            send_handle(left, write_fd)
            left.send("after")
            assert right.recv() == "before"
            received = recv_handle(right)
            os.write(received, b"!")
            os.close(received)
            assert os.read(read_fd, 1) == b"!"
            assert right.recv() == "after"
        finally:
            os.close(read_fd)
            os.close(write_fd)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_disowns_the_parents_read_ahead(pipe):
    reader, writer = pipe
    writer.send("one")
    writer.send("two")
    assert reader.recv() == "one"
    answer_r, answer_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what a receive does, then leave at once
        try:
            reader.recv()
            outcome = b"received"
        except OSError as exc:
            outcome = b"refused" if "forked" in str(exc) else b"other"
        os.write(answer_w, outcome)
        os._exit(0)
    os.close(answer_w)
    try:
        assert os.read(answer_r, 100) == b"refused"
    finally:
        os.close(answer_r)
        os.waitpid(pid, 0)
    assert reader.recv() == "two"  # the parent keeps what it read


def test_pipe_writer_does_not_block_and_large_messages_still_cross(pipe):
    reader, writer = pipe
    assert os.get_blocking(writer.fileno()) is False
    assert os.get_blocking(reader.fileno()) is True
    payload = os.urandom(3 * 1024 * 1024 + 5)
    sender = threading.Thread(target=writer.send_bytes, args=(payload,))
    sender.start()
    assert reader.recv_bytes() == payload
    sender.join()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="F_GETPIPE_SZ is Linux")
def test_pipe_grows_for_a_large_message(pipe):
    reader, writer = pipe
    before = fcntl.fcntl(writer.fileno(), F_GETPIPE_SZ)
    writer.send_bytes(b"small")
    assert reader.recv_bytes() == b"small"
    assert fcntl.fcntl(writer.fileno(), F_GETPIPE_SZ) == before  # small messages leave it alone
    payload = os.urandom(200_000)
    sender = threading.Thread(target=writer.send_bytes, args=(payload,))
    sender.start()
    assert reader.recv_bytes() == payload
    sender.join()
    with open("/proc/sys/fs/pipe-max-size") as limit:
        maximum = int(limit.read())
    grown = fcntl.fcntl(writer.fileno(), F_GETPIPE_SZ)
    # Over the user's pipe quota the kernel refuses (EPERM): then the size stays.
    assert grown == before or grown >= min(maximum, 1 << 20)


def test_spliced_large_message_is_a_snapshot(pipe):
    """A large payload goes in by vmsplice: the send returns once it is read, so
    overwriting the buffer afterwards cannot change what the reader got."""
    reader, writer = pipe
    data = bytearray(os.urandom(5 * 1024 * 1024 + 3))
    digest = hashlib.sha256(data).digest()
    received: list[bytes] = []
    receiver = threading.Thread(target=lambda: received.append(reader.recv_bytes()))
    receiver.start()
    writer.send_bytes(data)
    data[:] = bytes(len(data))
    receiver.join()
    assert hashlib.sha256(received[0]).digest() == digest


def test_spliced_send_fails_cleanly_when_the_reader_is_gone(pipe):
    reader, writer = pipe
    reader.close()
    with pytest.raises(OSError):
        writer.send_bytes(bytes(5 * 1024 * 1024))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("spin_ns", [1_000_000_000, 0], ids=["while-spinning", "while-blocked"])
def test_a_signal_interrupts_a_receive_whether_spinning_or_blocked(spin_ns):
    class Interrupted(Exception):
        pass

    def handler(signum, frame):  # type: ignore[no-untyped-def]
        raise Interrupted

    left, right = Pipe()
    previous = signal.signal(signal.SIGALRM, handler)
    try:
        with left, right:
            # A one-second spin window: the signal lands in it, and must not be lost
            # when the spin gives way to the blocking wait.
            left._in.spin_ns = spin_ns
            signal.setitimer(signal.ITIMER_REAL, 0.05)
            with pytest.raises(Interrupted):
                left.recv_bytes()
            # The connection still works after the interruption.
            right.send_bytes(b"after")
            assert left.recv_bytes() == b"after"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_poll_timeout_still_times_out_and_then_sees_data():
    left, right = Pipe()
    with left, right:
        for _ in range(3):
            assert left.poll(0.02) is False
        right.send_bytes(b"now")
        assert left.poll(5) is True
        assert left.recv_bytes() == b"now"


def test_ping_pong_with_spinning_receivers_keeps_order():
    left, right = Pipe()

    def echo() -> None:
        for _ in range(2000):
            right.send_bytes(right.recv_bytes())

    with left, right:
        thread = threading.Thread(target=echo)
        thread.start()
        for i in range(2000):
            message = i.to_bytes(4, "big")
            left.send_bytes(message)
            assert left.recv_bytes() == message
        thread.join()


def test_closed_connection_sends_raise_the_usual_error(pipe):
    reader, writer = pipe
    writer.close()
    with pytest.raises(OSError, match="closed"):
        writer.send_bytes(b"x")
    with pytest.raises(OSError, match=r"read-only|write-only"):
        reader.send_bytes(b"x")


def test_socket_quick_send_and_receive(pipe):
    del pipe
    a, b = socket.socketpair()
    from processing_core.connection import Connection

    with Connection(a.detach()) as left, Connection(b.detach()) as right:
        right.read_ahead = True
        for i in range(50):
            left.send(i)
        assert [right.recv() for _ in range(50)] == list(range(50))
