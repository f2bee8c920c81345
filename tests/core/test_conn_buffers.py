"""Large received messages: the buffer of the last one is reused, never while anyone holds it."""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import threading

import pytest
from processing_core import _conn_buffers
from processing_core.connection import Pipe

SIZE = _conn_buffers.REUSE_AT  # the smallest message that is read into a kept buffer

needs_reuse = pytest.mark.skipif(not _conn_buffers.REUSE, reason="buffer reuse needs CPython with a GIL")


def pattern(tag: int, size: int = SIZE) -> bytes:
    """``size`` bytes that differ from every other tag's at the start, middle and end."""
    block = hashlib.sha256(tag.to_bytes(4, "big")).digest()
    return (block * (size // len(block) + 1))[:size]


def send_in_thread(writer, messages, refused: bool = False) -> threading.Thread:
    """Large sends wait for the reader (vmsplice): they run beside the receiving test."""

    def send() -> None:
        try:
            for message in messages:
                writer.send_bytes(message)
        except BrokenPipeError:
            if not refused:  # the reader closed on purpose only when the test refuses a message
                raise

    thread = threading.Thread(target=send, daemon=True)
    thread.start()
    return thread


@needs_reuse
def test_a_dropped_message_is_reused_and_holds_only_the_new_content(pipe):
    reader, writer = pipe
    first_data, second_data = pattern(1), pattern(2)
    sender = send_in_thread(writer, [first_data, second_data])
    first = reader.recv_bytes()
    assert first == first_data
    first_id = id(first)
    del first
    second = reader.recv_bytes()
    sender.join(30)
    assert id(second) == first_id  # the same object, read into again
    assert second == second_data
    assert reader._spare is second


def test_a_message_still_held_is_never_written_into(pipe):
    reader, writer = pipe
    first_data, second_data = pattern(3), pattern(4)
    sender = send_in_thread(writer, [first_data, second_data])
    first = reader.recv_bytes()
    second = reader.recv_bytes()
    sender.join(30)
    assert second is not first
    assert first == first_data
    assert second == second_data


def test_a_view_of_a_dropped_message_keeps_it_from_reuse(pipe):
    reader, writer = pipe
    first_data, second_data = pattern(5), pattern(6)
    sender = send_in_thread(writer, [first_data, second_data])
    view = memoryview(reader.recv_bytes())
    second = reader.recv_bytes()
    sender.join(30)
    assert view.obj is not second
    assert view == first_data
    assert second == second_data


@needs_reuse
def test_a_reused_message_forgets_the_old_hash(pipe):
    reader, writer = pipe
    first_data, second_data = pattern(7), pattern(8)
    sender = send_in_thread(writer, [first_data, second_data])
    first = reader.recv_bytes()
    old_hash = hash(first)
    first_id = id(first)
    del first
    second = reader.recv_bytes()
    sender.join(30)
    assert id(second) == first_id
    assert hash(second) == hash(bytes(bytearray(second_data)))
    assert hash(second) != old_hash


@pytest.mark.parametrize("second_size", [SIZE - 1, SIZE + 4096, 100])
def test_a_message_of_another_length_gets_its_own_buffer(pipe, second_size):
    reader, writer = pipe
    first_data, second_data, third_data = pattern(9), pattern(10, second_size), pattern(11)
    sender = send_in_thread(writer, [first_data, second_data, third_data])
    assert reader.recv_bytes() == first_data
    second = reader.recv_bytes()
    assert len(second) == second_size
    assert second == second_data
    assert reader.recv_bytes() == third_data
    sender.join(30)


def test_large_pickles_in_a_row_reuse_safely(pipe):
    reader, writer = pipe
    objects = [{"tag": tag, "data": pattern(tag, SIZE)} for tag in (12, 13, 14)]
    thread = threading.Thread(target=lambda: [writer.send(o) for o in objects], daemon=True)
    thread.start()
    received = [reader.recv() for _ in objects]
    thread.join(30)
    assert received == objects
    assert len({len(pickle.dumps(o)) for o in objects}) == 1  # same length: the reuse path was open


def test_recv_bytes_into_too_short_after_a_large_message(pipe):
    reader, writer = pipe
    first_data, second_data = pattern(15), pattern(16)
    sender = send_in_thread(writer, [first_data, second_data])
    assert reader.recv_bytes() == first_data
    gc.collect()
    small = bytearray(10)
    with pytest.raises(Exception) as caught:
        reader.recv_bytes_into(small)
    sender.join(30)
    assert caught.value.args[0] == second_data
    assert small == bytearray(10)


def test_close_and_refused_messages_drop_the_spare(pipe):
    reader, writer = pipe
    sender = send_in_thread(writer, [pattern(17), pattern(18)], refused=True)
    reader.recv_bytes()
    assert reader._spare is not None or not _conn_buffers.REUSE
    with pytest.raises(OSError):
        reader.recv_bytes(maxlength=SIZE - 1)
    assert reader._spare is None
    sender.join(30)


@needs_reuse
def test_a_forked_child_does_not_write_into_the_parents_spare(pipe):
    reader, writer = pipe
    sender = send_in_thread(writer, [pattern(19)])
    kept_data = pattern(19)
    reader.recv_bytes()  # dropped at once: the spare is now unshared in the parent
    sender.join(30)
    assert reader._spare is not None
    spare = reader._spare
    results_r, results_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through the pipe
        ok = reader._spare is None
        os.write(results_w, b"1" if ok else b"0")
        os._exit(0)
    os.close(results_w)
    answer = os.read(results_r, 1)
    os.close(results_r)
    os.waitpid(pid, 0)
    assert answer == b"1"
    assert spare == kept_data
    del spare


def digests_of_large_messages(reader, writer, count: int) -> None:
    """Child: receive ``count`` large messages (dropping each), report their digests, echo the last."""
    digests = []
    last = b""
    for _ in range(count):
        last = reader.recv_bytes()
        digests.append(hashlib.sha256(last).hexdigest())
    writer.send(digests)
    writer.send_bytes(last)
    reader.close()
    writer.close()


def test_large_messages_in_a_row_across_processes(ctx):
    down_r, down_w = Pipe(duplex=False)
    up_r, up_w = Pipe(duplex=False)
    messages = [pattern(tag) for tag in (20, 21, 22)]
    process = ctx.Process(target=digests_of_large_messages, args=(down_r, up_w, len(messages)))
    process.start()
    down_r.close()
    up_w.close()
    for message in messages:
        down_w.send_bytes(message)
    assert up_r.recv() == [hashlib.sha256(m).hexdigest() for m in messages]
    assert up_r.recv_bytes() == messages[-1]
    process.join(30)
    assert process.exitcode == 0
    down_w.close()
    up_r.close()
