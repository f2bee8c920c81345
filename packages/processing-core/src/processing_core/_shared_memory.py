"""Named shared memory: :class:`SharedMemory`.

The segment is made with ``shm_open`` by the native core and mapped with the
standard library's :mod:`mmap`, which refuses to unmap memory while views of it are
alive (:meth:`SharedMemory.close` then raises ``BufferError`` rather than leaving a
dangling view).  Segments created with ``track=True`` are registered with the family's
resource tracker, which unlinks them if every process of the family dies first.
"""

from __future__ import annotations

import contextlib
import errno as _errno
import mmap
import os
import secrets
from typing import Any

from processing_core import _resource_tracker
from processing_core._native import lib

__all__ = ["SharedMemory"]

_NAME_PREFIX = "prc_"
_NAME_BYTES = 8
_MODE = 0o600


def _os_name(name: str) -> bytes:
    """The name given to ``shm_open``: POSIX wants exactly one leading slash."""
    if not isinstance(name, str):
        raise TypeError(f"a shared memory name must be a str, not {type(name).__name__}")
    if not name or name == "/" or "/" in name[1:] or "\0" in name:
        raise ValueError(f"invalid shared memory name {name!r}: it must be a non-empty name without '/' or NUL")
    return (name if name.startswith("/") else "/" + name).encode("utf-8", "surrogateescape")


def _check_arguments(name: str | None, create: bool, size: int) -> None:
    if not isinstance(size, int) or isinstance(size, bool):
        raise TypeError(f"'size' must be an int, not {type(size).__name__}")
    if size < 0:
        raise ValueError(f"'size' must be a positive integer, not {size}")
    if create and size == 0:
        raise ValueError("'size' must be a positive number different from zero when creating")
    if name is None and not create:
        raise ValueError("'name' can only be None if create=True")


def _raise_errno(err: int, name: str) -> None:
    raise OSError(err, os.strerror(err), name)


class SharedMemory:
    """A block of memory that processes share by name.

    Args:
        name: the segment's name; ``None`` with ``create=True`` picks a unique one.
        create: make a new segment (``FileExistsError`` if the name is taken)
            rather than attach to an existing one (``FileNotFoundError`` if absent).
        size: the size in bytes of a new segment; when attaching, at most the
            segment's size (0: all of it).
        track: register a segment this process creates with the resource tracker,
            which unlinks it once every process of the family has ended.  Pass
            ``False`` for a segment that must outlive its creator; then only
            :meth:`unlink` removes it.
    """

    _fd = -1
    _size = 0
    _mmap: mmap.mmap | None = None
    _buf: memoryview | None = None

    def __init__(self, name: str | None = None, create: bool = False, size: int = 0, *, track: bool = True) -> None:
        _check_arguments(name, create, size)
        self._track = track
        if create:
            name, fd = self._create(name, size, track)
        else:
            assert name is not None
            fd = lib.prc_shm_attach(_os_name(name), 0)
            if fd < 0:
                _raise_errno(-fd, name)
        self._name = name
        self._fd = fd
        try:
            self._map(fd, size)
        except BaseException:
            self._close_fd()
            if create:
                lib.prc_shm_unlink(_os_name(name))
                if track:
                    _resource_tracker.unregister(_os_name(name).decode("utf-8", "surrogateescape"))
            raise
        # The mapping does not need the descriptor: closing it now means no descriptor
        # per segment, and none that other code could close under us.
        self._close_fd()
        assert self._mmap is not None
        self._buf = memoryview(self._mmap)
        if track and not create:
            _resource_tracker.join_family_tracker()  # the family's tracker now waits for us too

    @staticmethod
    def _create(name: str | None, size: int, track: bool) -> tuple[str, int]:
        while True:
            chosen = name if name is not None else _NAME_PREFIX + secrets.token_hex(_NAME_BYTES)
            os_name = _os_name(chosen)
            tracked = os_name.decode("utf-8", "surrogateescape")
            # Registered before it exists: a process killed right after creating the
            # segment must not leave it untracked.
            if track:
                _resource_tracker.register(tracked)
            fd = lib.prc_shm_create(os_name, size, _MODE)
            if fd >= 0:
                return chosen, fd
            if track:
                _resource_tracker.unregister(tracked)
            if -fd == _errno.EEXIST and name is None:
                continue  # a random name collided: draw another
            _raise_errno(-fd, chosen)

    @property
    def buf(self) -> memoryview:
        """A writable view of the whole segment (released by :meth:`close`)."""
        if self._buf is None:
            raise ValueError(f"shared memory {self._name!r} is closed")
        return self._buf

    @property
    def name(self) -> str:
        """The name, as given (or as chosen when ``None`` was given)."""
        return self._name

    @property
    def size(self) -> int:
        """The size of the segment in bytes."""
        return self._size

    def _map(self, fd: int, size: int) -> None:
        actual = lib.prc_shm_size(fd)
        if actual < 0:
            _raise_errno(-actual, self._name)
        if actual == 0:
            raise ValueError(f"shared memory {self._name!r} is empty: there is nothing to map")
        if size > actual:
            raise ValueError(f"shared memory {self._name!r} is {actual} bytes, smaller than the {size} asked for")
        self._mmap = mmap.mmap(fd, actual)
        self._size = actual

    def close(self) -> None:
        """Unmap the segment from this process (the segment itself stays).

        Raises:
            BufferError: views of :attr:`buf` (or objects built on it) are still alive.
        """
        if self._buf is not None:
            self._buf.release()
            self._buf = None
        if self._mmap is not None:
            try:
                self._mmap.close()
            except BufferError:
                self._buf = memoryview(self._mmap)
                raise BufferError(
                    f"cannot close shared memory {self._name!r}: views of its buffer are still in use"
                ) from None
            self._mmap = None
        self._close_fd()

    def _close_fd(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def unlink(self) -> None:
        """Remove the name, so that the segment is freed once every process has closed it.

        Call it once, from one process.  Raises ``FileNotFoundError`` if the name is
        already gone.
        """
        os_name = _os_name(self._name)
        rc = lib.prc_shm_unlink(os_name)
        if rc < 0:
            _raise_errno(-rc, self._name)
        if self._track:
            _resource_tracker.unregister(os_name.decode("utf-8", "surrogateescape"))

    def __enter__(self) -> SharedMemory:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # nothing to do about it at collection time
            self.close()

    def __reduce__(self) -> tuple[Any, ...]:
        return (_attach, (self._name, self._track))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._name!r}, size={self._size})"


def _attach(name: str, track: bool) -> SharedMemory:
    return SharedMemory(name, track=track)
