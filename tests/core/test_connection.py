"""Connection and Pipe: the API, framing sizes, bad input, signals."""

from __future__ import annotations

import array
import errno
import os
import pickle
import signal
import socket
import struct
import threading
import time

import processing_core
import pytest
from processing_core import BufferTooShort
from processing_core.connection import Connection, Pipe

SIZES = [0, 1, 4, 64, 65535, 65536, 65537, 64 * 1024 + 13, 16 * 1024 * 1024]


def send_in_thread(conn: Connection, *messages: bytes) -> threading.Thread:
    thread = threading.Thread(target=lambda: [conn.send_bytes(m) for m in messages])
    thread.start()
    return thread


@pytest.fixture(params=[True, False], ids=["duplex", "oneway"])
def pair(request):
    """(receiver, sender) of a duplex or a one-way Pipe."""
    reader, writer = Pipe(duplex=request.param)
    yield reader, writer
    reader.close()
    writer.close()


@pytest.mark.parametrize("size", SIZES)
def test_bytes_round_trip_sizes(pair, size):
    reader, writer = pair
    data = os.urandom(size)
    thread = send_in_thread(writer, data)
    received = reader.recv_bytes()
    thread.join()
    assert type(received) is bytes
    assert received == data


@pytest.mark.parametrize("size", [0, 1, 64, 70000, 16 * 1024 * 1024])
def test_recv_bytes_into_sizes(pair, size):
    reader, writer = pair
    data = os.urandom(size)
    buffer = bytearray(size + 10)
    thread = send_in_thread(writer, data)
    assert reader.recv_bytes_into(buffer, 7) == size
    thread.join()
    assert buffer[7 : 7 + size] == data
    assert buffer[:7] == bytes(7)


def test_objects_round_trip_and_message_boundaries(pair):
    reader, writer = pair
    objects = [None, 1, "text", b"\0" * 100, {"a": [1, 2.5, ("x",)]}, list(range(10000))]
    for obj in objects:
        writer.send(obj)
        assert reader.recv() == obj
    writer.send_bytes(b"abc")
    writer.send_bytes(b"")
    writer.send_bytes(b"def")
    assert [reader.recv_bytes() for _ in range(3)] == [b"abc", b"", b"def"]


def test_duplex_both_ways_and_oneway_direction():
    a, b = Pipe()
    with a, b:
        a.send(1)
        b.send(2)
        assert (b.recv(), a.recv()) == (1, 2)
        assert a.readable and a.writable
    reader, writer = Pipe(duplex=False)
    with reader, writer:
        assert reader.readable and not reader.writable
        assert writer.writable and not writer.readable
        with pytest.raises(OSError, match="read-only"):
            reader.send(1)
        with pytest.raises(OSError, match="write-only"):
            writer.recv()


def test_send_bytes_offset_size_and_buffer_types():
    a, b = Pipe()
    with a, b:
        a.send_bytes(b"0123456789", 2, 5)
        assert b.recv_bytes() == b"23456"
        a.send_bytes(bytearray(b"hello"), 1)
        assert b.recv_bytes() == b"ello"
        a.send_bytes(memoryview(b"abcdef")[1:4])
        assert b.recv_bytes() == b"bcd"
        ints = array.array("i", [1, 2, 3])
        a.send_bytes(ints, ints.itemsize)  # offset and size count bytes
        assert b.recv_bytes() == ints[1:].tobytes()
        for offset, size, match in [(-1, None, "negative"), (11, None, "offset"), (0, -1, "negative"), (5, 6, "size")]:
            with pytest.raises(ValueError, match=match):
                a.send_bytes(b"0123456789", offset, size)
        assert not b.poll()


def test_recv_bytes_into_too_short_carries_whole_message():
    a, b = Pipe()
    with a, b:
        for size in (20, 100_000):
            message = os.urandom(size)
            thread = send_in_thread(a, message)
            with pytest.raises(BufferTooShort) as info:
                b.recv_bytes_into(bytearray(10), 2)
            thread.join()
            assert info.value.args[0] == message
        a.send_bytes(b"still in step")
        assert b.recv_bytes() == b"still in step"
        with pytest.raises(ValueError, match="offset"):
            b.recv_bytes_into(bytearray(4), 5)
        with pytest.raises(ValueError, match="negative"):
            b.recv_bytes_into(bytearray(4), -1)
        with pytest.raises(TypeError, match="writable"):
            b.recv_bytes_into(b"read only")


def test_recv_bytes_into_typed_array():
    a, b = Pipe()
    with a, b:
        a.send_bytes(array.array("d", [1.5, 2.5]))
        target = array.array("d", [0.0, 0.0, 0.0])
        assert b.recv_bytes_into(target, target.itemsize) == 16
        assert list(target) == [0.0, 1.5, 2.5]


def test_poll_timeouts():
    a, b = Pipe()
    with a, b:
        assert b.poll() is False
        assert b.poll(0.05) is False
        assert b.poll(-1) is False  # negative is clamped to 0
        timer = threading.Timer(0.1, a.send, args=("late",))
        timer.start()
        assert b.poll(None) is True
        timer.join()
        assert b.recv() == "late"
        a.close()
        assert b.poll(None) is True  # end of stream is readable
        with pytest.raises(EOFError):
            b.recv()


def test_use_after_close():
    a, b = Pipe()
    a.close()
    a.close()  # closing twice is fine
    assert a.closed and not b.closed
    for call in (lambda: a.send(1), lambda: a.recv(), lambda: a.send_bytes(b""), a.recv_bytes, a.poll, a.fileno):
        with pytest.raises(OSError, match="closed"):
            call()
    with pytest.raises(OSError):
        a.recv_bytes_into(bytearray(4))
    with pytest.raises(EOFError):
        b.recv_bytes()
    with pytest.raises(OSError) as info:
        b.send_bytes(b"nobody listens")
    assert info.value.errno == errno.EPIPE
    b.close()


def test_context_manager_repr_and_aliases():
    a, b = Pipe()
    with a as entered:
        assert entered is a
        assert repr(a) == f"Connection(handle={a.fileno()})"
    assert a.closed
    assert repr(a) == "Connection(handle=None)"
    assert Connection.sendBytes is Connection.send_bytes
    assert Connection.recvBytes is Connection.recv_bytes
    assert Connection.recvBytesInto is Connection.recv_bytes_into
    b.close()


def test_constructor_checks():
    with pytest.raises(ValueError, match="at least one"):
        Connection(0, readable=False, writable=False)
    with pytest.raises(ValueError, match="invalid"):
        Connection(-1)
    r, w = os.pipe()
    os.close(w)
    os.close(r)
    with pytest.raises(OSError, match="not a usable"):
        Connection(r)


def test_pickle_survives_unpicklable_object():
    a, b = Pipe()
    with a, b:
        with pytest.raises((pickle.PicklingError, TypeError, AttributeError)):
            a.send(lambda: None)
        a.send("after")
        assert b.recv() == "after"


# ----------------------------------------------------------------- bad input


def raw_pair() -> tuple[socket.socket, Connection]:
    left, right = socket.socketpair()
    return left, Connection(right.detach())


def test_truncated_payload_names_the_problem():
    peer, conn = raw_pair()
    with conn:
        peer.sendall(struct.pack("!i", 100) + b"x" * 10)
        peer.close()
        with pytest.raises(OSError, match=r"end of file during message.*100 bytes"):
            conn.recv_bytes()
        assert conn.closed


def test_truncated_header_names_the_problem():
    peer, conn = raw_pair()
    peer.sendall(b"\0\0")
    peer.close()
    with pytest.raises(OSError, match=r"end of file during message.*header"):
        conn.recv()


def test_truncated_long_header():
    peer, conn = raw_pair()
    peer.sendall(b"\xff\xff\xff\xff\0\0\0\1")
    peer.close()
    with pytest.raises(OSError, match="header"):
        conn.recv_bytes()


def test_clean_close_between_messages_is_eof():
    peer, conn = raw_pair()
    with conn:
        peer.sendall(struct.pack("!i", 2) + b"ok")
        peer.close()
        assert conn.recv_bytes() == b"ok"
        with pytest.raises(EOFError):
            conn.recv_bytes()


def test_wire_format_matches_standard_framing():
    peer, conn = raw_pair()
    with conn, peer:
        conn.send_bytes(b"abc")
        assert peer.recv(7) == b"\0\0\0\3abc"
        peer.sendall(b"\xff\xff\xff\xff" + struct.pack("!Q", 5) + b"hello")  # the long header
        assert conn.recv_bytes() == b"hello"


@pytest.mark.parametrize("announced", [1001, 2**31 - 1, 2**40, 2**64 - 1])
def test_header_above_max_message_size_is_refused_before_allocation(announced):
    peer, conn = raw_pair()
    conn.max_message_size = 1000
    assert conn.max_message_size == 1000
    with peer:
        if announced <= 0x7FFFFFFF:
            peer.sendall(struct.pack("!I", announced))
        else:
            peer.sendall(b"\xff\xff\xff\xff" + struct.pack("!Q", announced))
        with pytest.raises(OSError, match=f"{announced} bytes announced, at most 1000") as info:
            conn.recv_bytes()
        assert info.value.errno == errno.EMSGSIZE
        assert conn.closed


def test_max_message_size_accepts_up_to_the_limit():
    a, b = Pipe()
    with a, b:
        b.max_message_size = 10
        a.send_bytes(b"x" * 10)
        assert b.recv_bytes() == b"x" * 10
        with pytest.raises(ValueError):
            b.max_message_size = -1
        b.max_message_size = None
        assert b.max_message_size is None


def test_recv_bytes_maxlength():
    a, b = Pipe()
    with a, b:
        a.send_bytes(b"short")
        assert b.recv_bytes(5) == b"short"
        a.send_bytes(b"too long")
        with pytest.raises(OSError, match=r"bad message length.*write-only"):
            b.recv_bytes(5)
        # As in multiprocessing: a duplex end stops reading but can still send.
        assert not b.closed and not b.readable and b.writable
        b.send("still sending")
        assert a.recv() == "still sending"
        with pytest.raises(OSError, match="write-only"):
            b.recv()
        with pytest.raises(ValueError):
            a.recv_bytes(-1)
    reader, writer = Pipe(duplex=False)
    with reader, writer:
        writer.send_bytes(b"too long")
        with pytest.raises(OSError, match="connection closed"):
            reader.recv_bytes(5)
        assert reader.closed


# ------------------------------------------------------------------- signals


def _interrupt_main_after(seconds: float, signum: int = signal.SIGINT) -> threading.Timer:
    main = threading.main_thread().ident
    assert main is not None
    timer = threading.Timer(seconds, signal.pthread_kill, args=(main, signum))
    timer.start()
    return timer


@pytest.mark.timeout(30)
def test_ctrl_c_interrupts_a_blocked_recv():
    a, b = Pipe()
    with a, b:
        timer = _interrupt_main_after(0.3)
        started = time.monotonic()
        with pytest.raises(KeyboardInterrupt):
            b.recv()
        timer.join()
        assert time.monotonic() - started < 20
        a.send("the connection still works")
        assert b.recv() == "the connection still works"


@pytest.mark.timeout(30)
def test_ctrl_c_interrupts_a_blocked_poll_and_send():
    a, b = Pipe()
    with a, b:
        timer = _interrupt_main_after(0.3)
        with pytest.raises(KeyboardInterrupt):
            b.poll(None)
        timer.join()
        timer = _interrupt_main_after(0.3)
        with pytest.raises(KeyboardInterrupt):
            a.send_bytes(bytes(64 * 1024 * 1024))  # blocks: nobody reads
        timer.join()


@pytest.mark.timeout(60)
def test_signal_that_does_not_raise_loses_no_byte():
    """Handlers run during a blocked transfer; the transfer then resumes where it was."""
    calls = []
    previous = signal.signal(signal.SIGUSR1, lambda *_: calls.append(1))
    try:
        a, b = Pipe()
        with a, b:
            data = os.urandom(8 * 1024 * 1024)
            # A blocked send, interrupted, resumes.
            received: list[bytes] = []
            timer = _interrupt_main_after(0.2, signal.SIGUSR1)
            reader = threading.Timer(0.6, lambda: received.append(b.recv_bytes()))
            reader.start()
            a.send_bytes(data)
            reader.join()
            timer.join()
            assert received == [data]
            # A blocked recv, interrupted, resumes.
            timer = _interrupt_main_after(0.2, signal.SIGUSR1)
            sender = threading.Timer(0.6, a.send_bytes, args=(data,))
            sender.start()
            assert b.recv_bytes() == data
            sender.join()
            timer.join()
        assert len(calls) == 2
    finally:
        signal.signal(signal.SIGUSR1, previous)


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how", ["recv_bytes", "recv_bytes_into", "small_into", "small_then_into"])
def test_interrupted_recv_in_mid_message_resumes_on_next_call(how):
    """Ctrl-C in the middle of a message keeps what arrived: the next receive completes it."""
    peer, conn = raw_pair()
    size = 1000 if how.startswith("small") else 200_000  # the first half fits in the socket buffer
    data = os.urandom(size)
    with conn, peer:
        peer.sendall(struct.pack("!i", size) + data[: size // 2])
        timer = _interrupt_main_after(0.3)
        with pytest.raises(KeyboardInterrupt):
            if how in ("recv_bytes", "small_then_into"):
                conn.recv_bytes()
            else:
                conn.recv_bytes_into(bytearray(size))
        timer.join()
        assert not conn.poll()  # the rest has not come yet
        peer.sendall(data[size // 2 :])
        if how == "recv_bytes":
            assert conn.recv_bytes() == data
        else:
            target = bytearray(size + 1)
            assert conn.recv_bytes_into(target, 1) == size
            assert target[1:] == data


# -------------------------------------------------------------------- > 4 GiB


def _available_memory() -> int:
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_message_over_4_gib():
    size = 2**32 + 4096
    if _available_memory() < 3 * size:
        pytest.skip(f"needs {3 * size >> 30} GiB of available memory for a message of {size} bytes")
    data = bytearray(size)  # untouched pages cost no memory until written
    marks = [0, 2**31, 2**32 - 1, 2**32, size - 1]
    for index, position in enumerate(marks):
        data[position] = index + 1
    a, b = Pipe()
    with a, b:
        thread = send_in_thread(a, data)
        received = b.recv_bytes()
        thread.join()
        assert len(received) == size
        assert [received[position] for position in marks] == [1, 2, 3, 4, 5]
        del received


def test_top_level_exports():
    assert processing_core.Pipe is Pipe
    assert processing_core.Connection is Connection


class Payload:
    """A picklable object a test can hold weakly."""


def test_sent_objects_are_not_kept_alive():
    import weakref

    a, b = Pipe()
    with a, b:
        payload = Payload()
        ref = weakref.ref(payload)
        a.send([payload, payload])
        del payload
        assert ref() is None
        first, second = b.recv()
        assert first is second and isinstance(first, Payload)


def test_reducer_that_sends_on_the_same_connection():
    a, b = Pipe()

    class Nested:
        def __reduce__(self):
            a.send("inner")  # re-entrant send while the outer object is being pickled
            return str, ("outer",)

    with a, b:
        a.send(Nested())
        assert b.recv() == "inner"
        assert b.recv() == "outer"
        a.send({"after": 1})
        assert b.recv() == {"after": 1}


def test_threads_sending_small_objects_on_one_connection():
    """Each small message goes out whole, even with several threads sending at once."""
    a, b = Pipe()
    threads_count, per_thread = 4, 2000

    def produce(tid: int) -> None:
        for i in range(per_thread):
            a.send((tid, i, "x" * (i % 50)))

    with a, b:
        threads = [threading.Thread(target=produce, args=(tid,)) for tid in range(threads_count)]
        for thread in threads:
            thread.start()
        last = dict.fromkeys(range(threads_count), -1)
        for _ in range(threads_count * per_thread):
            tid, i, text = b.recv()
            assert i == last[tid] + 1 and text == "x" * (i % 50)
            last[tid] = i
        for thread in threads:
            thread.join()


def test_bytes_interoperate_with_the_standard_library():
    """The framing is the standard library's: raw messages cross in both directions."""
    import multiprocessing.connection as stdlib_connection

    left, right = socket.socketpair()
    ours = Connection(left.detach())
    theirs = stdlib_connection.Connection(right.detach())
    with ours:
        for message in (b"", b"x", os.urandom(100_000)):
            thread = send_in_thread(ours, message)
            assert theirs.recv_bytes() == message
            thread.join()
            thread = threading.Thread(target=theirs.send_bytes, args=(message,))
            thread.start()
            assert ours.recv_bytes() == message
            thread.join()
        theirs.send({"pickled": "by the standard library"})
        assert ours.recv() == {"pickled": "by the standard library"}
        theirs.close()
