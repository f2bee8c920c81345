"""Coverage-guided fuzzing (atheris) of connection framing and the handshake.

Run as a script: ``python atheris_framing.py -runs=N -max_len=L``.  Each input is
written into the peer socket of a ``Connection`` (then the peer shuts its side): the
reader must get whole messages, ``EOFError`` or ``OSError``; ``deliver_challenge`` fed
the same bytes must refuse them.  Anything else, or a read that is not ready within
the poll timeout, is a crash that atheris reports (non-zero exit).
"""

from __future__ import annotations

import socket
import sys

import atheris

with atheris.instrument_imports():
    from processing_core import AuthenticationError, Connection
    from processing_core._auth import deliver_challenge

KEY = b"reliability key"
LIMIT = 1 << 16


def _feed(data: bytes) -> tuple[Connection, socket.socket]:
    ours, theirs = socket.socketpair()
    theirs.sendall(data)
    theirs.shutdown(socket.SHUT_WR)
    return Connection(ours.detach(), max_message_size=LIMIT), theirs


def one_input(data: bytes) -> None:
    conn, peer = _feed(data)
    with peer:
        try:
            for _ in range(len(data) + 1):
                if not conn.poll(10.0):
                    raise AssertionError("the reader saw neither data nor end of file")
                if len(conn.recv_bytes()) > LIMIT:
                    raise AssertionError("a message above max_message_size was delivered")
        except (EOFError, OSError):
            pass
        finally:
            conn.close()
    conn, peer = _feed(data)
    with peer, conn:
        try:
            deliver_challenge(conn, KEY)
        except (AuthenticationError, OSError):
            pass
        else:
            raise AssertionError(f"a peer without the key passed the challenge: {data!r}")


if __name__ == "__main__":
    atheris.Setup(sys.argv, one_input)
    atheris.Fuzz()
