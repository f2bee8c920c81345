"""Anonymous shared mappings (memfd arenas) that travel to children by descriptor.

Semaphore slots and the shared heap live in arenas: ``memfd_create`` files mapped
``MAP_SHARED``.  They have no name in ``/dev/shm``, so nothing can outlive the
processes that map them: the kernel frees an arena when its last descriptor and
mapping are gone, even after ``SIGKILL``.  Fork children inherit the mappings;
spawn and forkserver children receive the descriptor through
:func:`processing_core._reduction.duplicate_for_child` while they are started.

The mapping is made with the standard library's :mod:`mmap` (it tracks exported
buffers, so an arena cannot be unmapped while a view of it is alive); C code gets
its address through ``ffi.from_buffer``, which keeps the mapping exported for as
long as the pointer lives.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import threading
import weakref
from typing import Any

from processing_core._native import ffi
from processing_core._reduction import assert_spawning, duplicate_for_child, inherited_fd

_attached: weakref.WeakValueDictionary[tuple[int, int], Arena] = weakref.WeakValueDictionary()
_attached_lock = threading.Lock()


class Arena:
    """One memfd-backed shared mapping of ``size`` bytes."""

    __slots__ = ("__weakref__", "_address", "_identity", "base", "fd", "map", "size")  # _address: read by the heap

    def __init__(self, size: int, *, fd: int = -1, purpose: str = "arena") -> None:
        if size <= 0:
            raise ValueError(f"an arena needs a positive size, not {size}")
        if fd < 0:
            fd = os.memfd_create(f"processing-{purpose}", os.MFD_CLOEXEC)
            try:
                os.ftruncate(fd, size)
            except OSError:
                os.close(fd)
                raise
        self.fd = fd
        self.size = size
        st = os.fstat(fd)
        self._identity = (st.st_dev, st.st_ino)
        try:
            self.map = mmap.mmap(fd, size)
        except BaseException:
            os.close(fd)
            self.fd = -1
            raise
        self.base: Any = ffi.from_buffer("char[]", self.map, require_writable=True)
        self._address = int(ffi.cast("uintptr_t", self.base))

    def address(self, offset: int = 0) -> int:
        """Return the address of byte ``offset`` of the mapping in this process."""
        return self._address + offset

    def _fd_is_ours(self) -> bool:
        # Code elsewhere (another library, a careless close loop in a fork child) may
        # have closed our descriptor and its number been reused: never hand over, or
        # close, a descriptor that is no longer our arena.
        try:
            st = os.fstat(self.fd)
        except OSError:
            return False
        return (st.st_dev, st.st_ino) == self._identity

    def __reduce__(self) -> tuple[Any, ...]:
        assert_spawning(self)
        if not self._fd_is_ours():
            raise OSError(
                f"descriptor {self.fd} of a shared memory arena was closed in this process by other code: "
                "the objects in that arena can no longer be handed to a new child"
            )
        return (attach_arena, (duplicate_for_child(self.fd), self.size))

    def __del__(self) -> None:
        if getattr(self, "fd", -1) >= 0 and getattr(self, "_identity", None) and self._fd_is_ours():
            with contextlib.suppress(OSError):
                os.close(self.fd)
        self.fd = -1


def attach_arena(token: int, size: int) -> Arena:
    """In a child: map the arena handed over as ``token`` (once per arena per process)."""
    fd = inherited_fd(token)
    st = os.fstat(fd)
    key = (st.st_dev, st.st_ino)
    with _attached_lock:
        arena = _attached.get(key)
        if arena is not None:
            os.close(fd)
            return arena
        os.set_inheritable(fd, False)
        arena = Arena(size, fd=fd)
        _attached[key] = arena
        return arena


def _forget_attached_in_child() -> None:
    global _attached_lock  # noqa: PLW0603 - a lock held across fork must not be inherited held
    _attached_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_attached_in_child)
