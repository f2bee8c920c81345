"""Frames between a pool and its workers: reassembly however the pipe cuts them."""

from __future__ import annotations

import os
import random
from collections.abc import Iterator

import pytest
from processing_pool._wire import PIPE_SIZE, READ_SIZE, FrameReader, drain_nonblocking, encode, read_frame

SMALL_SIZES = [0, 1, 7, 8, 9, 100, 5000]
LARGE_SIZES = [0, PIPE_SIZE - 8, PIPE_SIZE, 3 * PIPE_SIZE + 5, 2 * READ_SIZE + 3, 1]


@pytest.fixture
def os_pipe() -> Iterator[tuple[int, int]]:
    r, w = os.pipe()
    yield r, w
    for fd in (r, w):
        try:
            os.close(fd)
        except OSError:
            pass  # the test closed it


def _bodies(sizes: list[int]) -> list[bytes]:
    chooser = random.Random(1234)
    return [chooser.randbytes(size) for size in sizes]


@pytest.mark.parametrize(
    ("sizes", "piece"),
    [
        (SMALL_SIZES, 1),
        (SMALL_SIZES, 3),
        (SMALL_SIZES, 8),
        (LARGE_SIZES, 4096),
        (LARGE_SIZES, PIPE_SIZE),
        (LARGE_SIZES, 1 << 22),
    ],
)
def test_frames_come_out_whole_however_they_are_cut(sizes: list[int], piece: int) -> None:
    bodies = _bodies(sizes)
    stream = b"".join(encode(body) for body in bodies)
    reader = FrameReader()
    frames: list[bytes] = []
    for start in range(0, len(stream), piece):
        reader.feed(stream[start : start + piece], frames)
    assert frames == bodies
    assert not reader._buffer  # nothing left over


def test_reads_from_a_pipe_grow_the_buffer_and_see_the_end(os_pipe: tuple[int, int]) -> None:
    r, w = os_pipe
    body = random.Random(5).randbytes(3 * READ_SIZE)
    frame = encode(body)
    reader = FrameReader()
    assert len(reader._scratch) == PIPE_SIZE
    frames: list[bytes] = []
    written = 0
    os.set_blocking(w, False)
    while not frames:
        if written < len(frame):
            try:
                written += os.write(w, frame[written:])
            except BlockingIOError:
                pass
        before = len(reader._scratch)
        count, full = reader.read_from(r, frames)
        assert count > 0
        assert full == (count == before)
        assert len(reader._scratch) == (min(2 * before, READ_SIZE) if full else before)
    assert frames == [body]
    assert PIPE_SIZE < len(reader._scratch) <= READ_SIZE
    os.close(w)
    assert read_frame(r, reader, []) is None


def test_drain_takes_everything_waiting_and_reports_the_end(os_pipe: tuple[int, int]) -> None:
    r, w = os_pipe
    os.set_blocking(r, False)
    bodies = [bytes([n]) * (n * 100) for n in range(1, 30)]
    for body in bodies:
        os.write(w, encode(body))
    reader = FrameReader()
    assert drain_nonblocking(r, reader) == (bodies, False)
    assert drain_nonblocking(r, reader) == ([], False)
    os.write(w, encode(b"last")[:5])  # a frame cut short by a writer that died
    os.close(w)
    # The short read ends the first round; the end shows on the next (select sees it too).
    assert drain_nonblocking(r, reader) == ([], False)
    assert drain_nonblocking(r, reader) == ([], True)
