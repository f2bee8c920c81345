"""Large messages into fresh memory: a second thread faults the pages in beside the copy."""

from __future__ import annotations

import errno
import mmap
import os
import random
import select
import signal
import struct
import threading

import pytest
from processing_core import _conn_buffers
from processing_core._native import ffi, lib

SIZE = _conn_buffers.REUSE_AT  # the smallest message that gets a buffer of its own
MiB = 1 << 20


def pattern(tag: int, size: int = SIZE) -> bytes:
    """``size`` bytes of a seeded generator: every tag's differ everywhere."""
    return random.Random(tag).randbytes(size)


def resident_kib(address: int) -> int:
    """The resident size of the mapping that holds ``address``, from /proc/self/smaps."""
    inside = False
    with open("/proc/self/smaps") as smaps:
        for line in smaps:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                low, high = (int(part, 16) for part in head.split("-"))
                inside = low <= address < high
            elif inside and head == "Rss:":
                return int(line.split()[1])
    raise AssertionError(f"no mapping holds {address:#x}")


def populate_supported() -> bool:
    return _conn_buffers._populate_works(ffi.from_buffer(bytearray(_conn_buffers._PROBE_BYTES)))


needs_populate = pytest.mark.skipif(
    not populate_supported(), reason="the kernel has no MADV_POPULATE_WRITE (Linux 5.14)"
)


@needs_populate
def test_prefaulting_maps_every_page_and_changes_no_byte() -> None:
    region = mmap.mmap(-1, 4 * MiB)
    try:
        pointer = ffi.from_buffer(region)
        address = int(ffi.cast("uintptr_t", pointer))
        region[: MiB] = pattern(1, MiB)  # the first MiB written already, like a copy under way
        assert resident_kib(address) < 2 * 1024
        assert lib.prc_prefault_range(pointer, len(region), ffi.new("int *")) == 0
        assert resident_kib(address) >= 4 * 1024
        assert region[:MiB] == pattern(1, MiB)
        assert region[MiB:] == bytes(3 * MiB)
        del pointer
    finally:
        region.close()


@needs_populate
def test_a_stop_request_ends_the_prefault_before_it_starts() -> None:
    region = mmap.mmap(-1, 4 * MiB)
    try:
        pointer = ffi.from_buffer(region)
        stop = ffi.new("int *", 1)
        assert lib.prc_prefault_range(pointer, len(region), stop) == 0
        assert resident_kib(int(ffi.cast("uintptr_t", pointer))) == 0
        del pointer
    finally:
        region.close()


@needs_populate
def test_the_support_probe_really_faults_a_page_in() -> None:
    # Whatever the alignment of the target, the probe covers one whole page (a probe
    # shorter than a page would do nothing and report support on any kernel).
    region = mmap.mmap(-1, 4 * MiB)
    try:
        for place, offset in enumerate((0, 1, 4095)):  # each in a MiB of its own
            pointer = ffi.from_buffer(region) + MiB * place + offset
            before = resident_kib(int(ffi.cast("uintptr_t", pointer)))
            assert _conn_buffers._populate_works(pointer)
            assert resident_kib(int(ffi.cast("uintptr_t", pointer))) > before
            del pointer
    finally:
        region.close()


def test_a_bad_range_is_an_error_not_a_crash() -> None:
    # An address nothing maps: the kernel refuses (ENOMEM), or has no such call (EINVAL).
    rc = lib.prc_prefault_range(ffi.cast("char *", 4096), 4096 * 4, ffi.new("int *"))
    assert rc in (-errno.ENOMEM, -errno.EFAULT, -errno.EINVAL, -errno.ENOSYS)


class Recorded(_conn_buffers.Prefault):
    """A Prefault that remembers its instances, to look at them after the receive."""

    made: list[Recorded] = []

    def __init__(self, pointer, length) -> None:
        super().__init__(pointer, length)
        self.finished = 0
        Recorded.made.append(self)

    def finish(self) -> None:
        self.finished += 1
        super().finish()


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> list[Recorded]:
    Recorded.made = []
    monkeypatch.setattr(_conn_buffers, "Prefault", Recorded)
    return Recorded.made


def prefault_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == "processing-prefault"]


@needs_populate
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the prefault thread needs a second CPU")
def test_a_fresh_large_message_is_prefaulted_and_the_thread_is_gone_after(pipe, recorded) -> None:
    reader, writer = pipe
    messages = [pattern(2, 3 * SIZE), pattern(3, 3 * SIZE)]
    sender = threading.Thread(target=lambda: [writer.send_bytes(m) for m in messages], daemon=True)
    sender.start()
    first = reader.recv_bytes()
    assert len(recorded) == 1  # a fresh buffer: one prefault thread
    assert recorded[0].finished == 1
    assert not recorded[0]._thread.is_alive()
    assert first == messages[0]
    second = reader.recv_bytes()  # ``first`` is still held: a fresh buffer again
    sender.join(30)
    assert second == messages[1]
    assert len(recorded) == 2
    assert prefault_threads() == []


def test_a_single_cpu_gets_no_prefault_thread(pipe, recorded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0})
    reader, writer = pipe
    message = pattern(4)
    sender = threading.Thread(target=writer.send_bytes, args=(message,), daemon=True)
    sender.start()
    assert reader.recv_bytes() == message
    sender.join(30)
    assert recorded == []


class Interrupted(Exception):
    pass


def write_raw(fd: int, data: bytes) -> None:
    """Write ``data`` to the (non-blocking) pipe, waiting for room as the reader takes it."""
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            select.select([], [fd], [], 30)


@needs_populate
@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the prefault thread needs a second CPU")
def test_an_interrupted_large_receive_stops_the_thread_and_resumes_intact(pipe, recorded) -> None:
    reader, writer = pipe
    message = pattern(5, 2 * SIZE)
    frame = struct.pack("!i", len(message)) + message
    half = len(frame) // 2
    first_half_in = threading.Event()

    def write_first_half() -> None:
        write_raw(writer.fileno(), frame[:half])
        first_half_in.set()

    def interrupt(signum, stack) -> None:
        raise Interrupted

    writing = threading.Thread(target=write_first_half, daemon=True)
    writing.start()
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(Interrupted):
            reader.recv_bytes()  # half the message, then nothing more until the alarm
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    writing.join(30)
    assert first_half_in.is_set()
    assert len(recorded) == 1
    assert recorded[0].finished == 1  # stopped and joined before the exception left
    assert not recorded[0]._thread.is_alive()
    rest = threading.Thread(target=write_raw, args=(writer.fileno(), frame[half:]), daemon=True)
    rest.start()
    assert reader.recv_bytes() == message
    rest.join(30)
    assert len(recorded) == 1  # the resumed receive uses the buffer it already had
