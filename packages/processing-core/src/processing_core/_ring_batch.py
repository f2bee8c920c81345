"""Batches on the ring: many messages per lock acquisition (a mixin of :class:`Ring`)."""

from __future__ import annotations

import errno
from collections.abc import Callable, Sequence
from typing import Any

from processing_core._native import ffi, lib
from processing_core._ring_support import (
    _COPY_LIMIT,
    _GO_ON,
    _MAX_BATCH,
    _NO_WAIT_LEFT,
    RingEmpty,
    RingFull,
    T,
    _deadline,
    _raise,
    _Scratch,
    _scratch,
)


class RingBatches:
    """``put_many``/``get_many`` and their packed forms, for :class:`processing_core._ring.Ring`."""

    __slots__ = ()
    _handle: Any
    _limit: int

    # ---- putting ----

    def put_many(self, messages: Sequence[bytes], timeout: float | None = None, *, add_task: bool = False) -> int:
        """Put messages in order, as many per lock acquisition as fit; return how many went in.

        On a timeout, :class:`RingFull` is raised with ``args[0]`` the number put.
        """
        deadline = -1 if timeout is None else _deadline(timeout)
        done = 0
        total = len(messages)
        while done < total:
            if len(messages[done]) >= _COPY_LIMIT:
                # Joining large messages into one buffer would only add a copy.
                try:
                    self._put_deadline(messages[done], deadline, add_task)
                except RingFull:
                    raise RingFull(done) from None
                done += 1
                continue
            ends = []
            end = 0
            stop = done
            while stop < total and len(messages[stop]) < _COPY_LIMIT:
                end += len(messages[stop])
                ends.append(end)
                stop += 1
            try:
                self._put_packed(b"".join(messages[done:stop]), ends, deadline, add_task)
            except RingFull as full:
                raise RingFull(done + full.args[0]) from None
            done = stop
        return done

    def put_packed(
        self, data: Any, ends: Sequence[int], timeout: float | None = None, *, add_task: bool = False
    ) -> int:
        """Put the messages packed back to back in ``data``; message ``i`` ends at ``ends[i]``.

        Like :meth:`put_many` (messages above :attr:`inline_limit` go one by one
        through :meth:`put`); return how many went in.
        """
        return self._put_packed(data, ends, -1 if timeout is None else _deadline(timeout), add_task)

    def _put_packed(self, data: Any, ends: Sequence[int], deadline: int, add_task: bool) -> int:
        total = len(ends)
        if not total:
            return 0
        limit = self._limit
        pointer = data if isinstance(data, bytes) else ffi.from_buffer(data)
        c_ends = ffi.new("uint64_t[]", ends)
        done = ffi.new("uint32_t[1]")
        while done[0] < total:
            rc = lib.prc_ring_put_many(self._handle, pointer, c_ends, total, deadline, add_task, done)
            if rc in _GO_ON:
                continue
            if rc == -errno.EMSGSIZE:
                # Some message from done[0] on is too large for a batch: put the large ones
                # singly (through the spill area), then batch the rest again.
                i = done[0]
                begin = ends[i - 1] if i else 0
                if ends[i] - begin <= limit:
                    # the large one is later: batch up to it
                    j = i
                    while j < total and ends[j] - (ends[j - 1] if j else 0) <= limit:
                        j += 1
                    rc = lib.prc_ring_put_many(self._handle, pointer, c_ends, j, deadline, add_task, done)
                    if rc in _GO_ON:
                        continue
                else:
                    try:
                        self._put_deadline(memoryview(data)[begin : ends[i]], deadline, add_task)
                    except RingFull:
                        raise RingFull(i) from None
                    done[0] = i + 1
                    continue
            if rc in _NO_WAIT_LEFT:
                raise RingFull(int(done[0]))
            _raise(rc, "ring")
        return total

    def _put_deadline(self, data: Any, deadline: int, add_task: bool) -> None:
        if not isinstance(data, bytes):
            data = ffi.from_buffer(data)
        while True:
            rc = lib.prc_ring_put(self._handle, data, len(data), deadline, add_task)
            if rc == 0:
                return
            if rc == -errno.EINTR:
                continue
            if rc in _NO_WAIT_LEFT:
                raise RingFull
            _raise(rc, "ring")

    # ---- getting ----

    def get_many(
        self,
        max_messages: int,
        timeout: float | None = None,
        decode: Callable[[memoryview], T] = bytes,  # type: ignore[assignment]
    ) -> list[T]:
        """Take between one and ``max_messages`` messages in one lock acquisition.

        Raises:
            RingEmpty: no message in time.
            BrokenRingError: the ring is broken.
        """
        scratch, _used, lengths = self._get_batch(max_messages, timeout)
        view = scratch.view
        result = []
        pos = 0
        scratch.busy = True
        try:
            for length in lengths:
                result.append(decode(view[pos : pos + length]))
                pos += length
        finally:
            scratch.busy = False
        return result

    def get_packed(self, max_messages: int, timeout: float | None = None) -> tuple[bytes | bytearray, list[int]]:
        """Take between one and ``max_messages`` messages: their bytes back to back, and their lengths.

        Raises:
            RingEmpty: no message in time.
            BrokenRingError: the ring is broken.
        """
        scratch, used, lengths = self._get_batch(max_messages, timeout)
        return scratch.buf[:used] if used < scratch.size else bytes(scratch.view), lengths

    def _get_batch(self, max_messages: int, timeout: float | None) -> tuple[_Scratch, int, list[int]]:
        if max_messages < 1:
            raise ValueError(f"max_messages must be at least 1, not {max_messages!r}")
        deadline = -1 if timeout is None else _deadline(timeout)
        scratch = _scratch()
        max_messages = min(max_messages, _MAX_BATCH)
        lens = scratch.lens
        if len(lens) < max_messages:
            lens = scratch.lens = ffi.new("uint64_t[]", max_messages)
        while True:
            rc = lib.prc_ring_get_many(
                self._handle, scratch.ptr, scratch.size, max_messages, deadline, scratch.u32, scratch.u64, lens
            )
            if rc == 0:
                n = scratch.u32[0]
                return scratch, int(scratch.u64[0]), ffi.unpack(lens, n)
            if rc == -errno.ENOBUFS:
                scratch = _scratch(int(scratch.u64[0]))
                if len(scratch.lens) < max_messages:
                    scratch.lens = ffi.new("uint64_t[]", max_messages)
                lens = scratch.lens
            elif rc == -errno.EINTR:
                continue
            elif rc in _NO_WAIT_LEFT:
                raise RingEmpty
            else:
                _raise(rc, "ring")
