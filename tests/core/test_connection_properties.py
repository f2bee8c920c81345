"""Property tests of the framing: any sizes and contents, in any order, arrive intact."""

from __future__ import annotations

import socket
import struct
import threading

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processing_core import BufferTooShort
from processing_core.connection import Connection, Pipe

# Sizes around the boundaries that matter: empty, the scratch buffer (64 KiB), pipe
# buffers, plus arbitrary ones.
SIZES = st.one_of(
    st.integers(0, 300),
    st.sampled_from([4095, 4096, 4097, 65535, 65536, 65537, 131072]),
    st.integers(0, 300_000),
)
PAYLOADS = SIZES.flatmap(lambda n: st.binary(min_size=n, max_size=n) if n <= 4096 else st.just(bytes([n % 251]) * n))
COMMON = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def exchange(duplex: bool, messages: list[bytes]) -> list[bytes]:
    reader, writer = Pipe(duplex=duplex)
    with reader, writer:
        thread = threading.Thread(target=lambda: [writer.send_bytes(m) for m in messages])
        thread.start()
        received = [reader.recv_bytes() for _ in messages]
        thread.join()
        assert not reader.poll()
    return received


@COMMON
@given(messages=st.lists(PAYLOADS, max_size=8), duplex=st.booleans())
def test_sequences_of_messages_keep_their_boundaries(messages, duplex):
    assert exchange(duplex, messages) == messages


@COMMON
@given(
    data=st.binary(max_size=2000),
    offset=st.integers(0, 2000),
    size=st.one_of(st.none(), st.integers(0, 2000)),
)
def test_send_bytes_slices_like_a_memoryview(data, offset, size):
    a, b = Pipe()
    with a, b:
        valid = offset <= len(data) and (size is None or offset + size <= len(data))
        if not valid:
            try:
                a.send_bytes(bytearray(data), offset, size)
            except ValueError:
                return
            raise AssertionError("an out-of-range slice was accepted")
        a.send_bytes(bytearray(data), offset, size)
        end = len(data) if size is None else offset + size
        assert b.recv_bytes() == data[offset:end]


@COMMON
@given(payload=PAYLOADS, room=st.integers(0, 300_000), offset=st.integers(0, 100))
def test_recv_bytes_into_fits_or_raises_buffer_too_short(payload, room, offset):
    a, b = Pipe()
    with a, b:
        thread = threading.Thread(target=a.send_bytes, args=(payload,))
        thread.start()
        buffer = bytearray(offset + room)
        try:
            n = b.recv_bytes_into(buffer, offset)
        except BufferTooShort as exc:
            assert len(payload) > room
            assert exc.args[0] == payload
        else:
            assert n == len(payload) <= room
            assert buffer[offset : offset + n] == payload
        thread.join()


@COMMON
@given(objects=st.lists(st.recursive(st.none() | st.integers() | st.text() | st.binary(), st.lists, max_leaves=20)))
def test_objects_round_trip(objects):
    a, b = Pipe()
    with a, b:
        for obj in objects:
            a.send(obj)
            assert b.recv() == obj


@COMMON
@given(length=st.integers(0, 2**64 - 1), limit=st.integers(0, 2**28))
def test_any_header_is_either_accepted_or_refused_by_the_limit(length, limit):
    """A header is checked against the limit before anything is allocated for it."""
    left, right = socket.socketpair()
    conn = Connection(right.detach(), max_message_size=limit)
    with left, conn:
        header = struct.pack("!I", length) if length < 0x7FFFFFFF else b"\xff\xff\xff\xff" + struct.pack("!Q", length)
        left.sendall(header)
        left.shutdown(socket.SHUT_WR)
        try:
            conn.recv_bytes()
        except OSError as exc:
            if length > limit:
                assert f"{length} bytes announced" in str(exc)
            else:
                # Accepted, then the peer closed before the payload: a truncated message.
                assert length > 0 and "end of file during message" in str(exc)
        else:
            assert length == 0
