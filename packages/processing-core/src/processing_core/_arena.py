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

    __slots__ = ("__weakref__", "_address", "base", "fd", "map", "size")  # _address: read by the heap

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
        self.map = mmap.mmap(fd, size)
        self.base: Any = ffi.from_buffer("char[]", self.map, require_writable=True)
        self._address = int(ffi.cast("uintptr_t", self.base))

    def address(self, offset: int = 0) -> int:
        """Return the address of byte ``offset`` of the mapping in this process."""
        return self._address + offset

    def __reduce__(self) -> tuple[Any, ...]:
        assert_spawning(self)
        return (attach_arena, (duplicate_for_child(self.fd), self.size))

    def __del__(self) -> None:
        fd, self.fd = self.fd, -1
        if fd >= 0:
            with contextlib.suppress(OSError):
                os.close(fd)


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
