"""A forked child closes only the parent-side descriptors that are still the parent's.

The parent records descriptors that its forked children must close (other children's
pipes, the fork server's sockets).  A number left in that record after its descriptor
was closed would, once reused, close a live descriptor in every later forked child.
"""

from __future__ import annotations

import os

from processing_core import Pipe, _process, get_context


def _send_and_exit(writer) -> None:
    writer.send("reached the parent")
    writer.close()


def test_no_stale_descriptor_numbers_after_forkserver_children(start_method) -> None:
    ctx = get_context(start_method)
    child = ctx.Process(target=os.getpid)
    child.start()
    child.join(30)
    child.close()
    stale = {fd for fd in _process._parent_side_fds if not _is_open(fd)}
    assert not stale, f"closed descriptors still recorded as parent-side: {sorted(stale)}"


def test_a_descriptor_reusing_a_closed_number_survives_the_next_fork() -> None:
    for method in ("forkserver", "spawn", "fork"):
        child = get_context(method).Process(target=os.getpid)
        child.start()
        child.join(30)
        child.close()
    # New descriptors take the lowest free numbers: the ones just released.
    pairs = [Pipe(duplex=False) for _ in range(4)]
    try:
        for reader, writer in pairs:
            child = get_context("fork").Process(target=_send_and_exit, args=(writer,))
            child.start()
            assert reader.recv() == "reached the parent"
            child.join(30)
            assert child.exitcode == 0
    finally:
        for reader, writer in pairs:
            reader.close()
            writer.close()


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True
