"""Waiting for the peer's next message on a manager connection: spin briefly, then sleep.

A proxy call is a round trip between two processes.  When the two run on CPUs of
their own, a blocking receive lets this CPU go idle, and the peer's message then has
to wake it: on a virtual machine that costs some tens of microseconds, more than the
call itself, and it happens on both sides of every call.  Polling the connection for
a few tens of microseconds first keeps the CPU awake for a message that is about to
arrive, so a round trip costs only the work at each end.

Spinning is a loss when the message does not come in time: the peer shares this CPU
(it cannot run while we spin), or its work is slow, or the caller pauses between
calls.  So a waiter that missed spins less and less often (after 2, 4, 8 ... up to
1024 plain waits), and goes back to spinning every time after a spin that caught its
message.  A spin that lost the CPU on the way counts as a miss: the peer (or someone
else) needed this CPU.  A message already waiting at the start proves nothing and
changes nothing.  The spin only polls: it never reads, so the receive that follows
behaves exactly as it would without it.

The core connection may spin before blocking too; the two do not add up when this
spin catches the message, since the receive then finds it waiting.
"""

from __future__ import annotations

import os
import time

from processing_core._connection import Connection
from processing_core._native import lib

# How long one spin polls for a message before the receive blocks.
SPIN_SECONDS = 50e-6
# After this many misses in a row, a waiter spins once per 2**MAX_BACKOFF receives.
MAX_BACKOFF = 10
# A spin that spent this much longer on the wall clock than on this thread's CPU clock
# was preempted meanwhile.
OFF_CPU_SECONDS = 5e-6

_poll_readable = lib.prc_fd_poll_readable
_clock = time.perf_counter
_cpu_clock = time.thread_time


def _several_cpus() -> bool:
    # The machine's CPUs, not this process's affinity: a peer pinned to another CPU
    # answers while we spin.  Where everything shares one CPU, the misses stop the spinning.
    return (os.cpu_count() or 1) > 1


class SpinWait:
    """Spins before the receives of one connection, adapting to whether it pays.

    Args:
        connection: the connection whose receives it precedes (it is polled, never read).
    """

    __slots__ = ("_fd", "_misses", "_ready", "_skip")

    def __init__(self, connection: Connection) -> None:
        self._fd = connection.fileno()
        self._ready = connection.poll
        self._misses = 0
        # On a machine of one CPU the peer cannot answer while we spin: never spin.
        self._skip = 0 if _several_cpus() else -1

    def wait(self) -> None:
        """Return when a message (or the end of the stream) is waiting, or when the spin gives up.

        Raises:
            OSError: the connection is closed.
        """
        skip = self._skip
        if skip:
            if skip > 0:
                self._skip = skip - 1
            return
        # The connection's own poll sees a message it has read ahead into memory too.
        if self._ready(0):
            return  # here already: this says nothing about whether spinning pays
        fd = self._fd
        start = _clock()
        on_cpu_start = _cpu_clock()
        deadline = start + SPIN_SECONDS
        while True:
            # Any answer but "nothing yet" (a message, end of file, an error, a closed
            # descriptor) ends the spin: the receive that follows deals with it.
            if _poll_readable(fd, 0):
                # A spin that lost the CPU on the way (the peer shares this CPU and ran
                # meanwhile) did not catch the message: it delayed it.  That is a miss.
                if (_clock() - start) - (_cpu_clock() - on_cpu_start) < OFF_CPU_SECONDS:
                    self._misses = 0
                    return
                break
            if _clock() >= deadline:
                break
        misses = self._misses = min(self._misses + 1, MAX_BACKOFF)
        self._skip = 1 << misses
