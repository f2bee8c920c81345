"""Listener and Client over every family, authentication, wait() and descriptor passing."""

from __future__ import annotations

import contextlib
import os
import pickle
import random
import socket
import stat
import struct
import threading

import pytest
from processing_core import AuthenticationError
from processing_core._reduction import ForkingPickler
from processing_core.connection import (
    Client,
    Listener,
    Pipe,
    address_type,
    addressType,
    answer_challenge,
    answerChallenge,
    deliver_challenge,
    deliverChallenge,
    recv_handle,
    send_handle,
    wait,
)

KEY = b"a shared secret"


def _ipv6_works() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


FAMILIES = [
    pytest.param("AF_INET", None, id="inet"),
    pytest.param(
        "AF_INET6", None, id="inet6", marks=pytest.mark.skipif(not _ipv6_works(), reason="no IPv6 loopback here")
    ),
    pytest.param("AF_UNIX", None, id="unix"),
    pytest.param("AF_UNIX", "abstract", id="unix-abstract"),
]


def serve_once(listener: Listener, reply: object = "pong") -> tuple[threading.Thread, dict]:
    """Accept one connection in a thread, receive one object and answer it."""
    result: dict = {}

    def run() -> None:
        try:
            with listener.accept() as conn:
                result["got"] = conn.recv()
                conn.send(reply)
        except BaseException as exc:  # reported to the test
            result["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


@pytest.mark.parametrize(("family", "kind"), FAMILIES)
@pytest.mark.parametrize("authkey", [None, KEY], ids=["open", "authenticated"])
def test_listener_and_client_every_family(family, kind, authkey):
    address = f"\0processing-test-{os.getpid()}-{random.random()}" if kind == "abstract" else None
    with Listener(address, family, authkey=authkey) as listener:
        assert address_type(listener.address) == family
        assert listener.last_accepted is None
        thread, result = serve_once(listener)
        with Client(listener.address, authkey=authkey) as conn:
            conn.send(("ping", family))
            assert conn.recv() == "pong"
        thread.join()
        assert result == {"got": ("ping", family)}
        if family != "AF_UNIX":
            assert listener.last_accepted[0] == listener.address[0]
    assert listener.closed
    with pytest.raises(OSError, match="closed"):
        listener.accept()


def test_unix_socket_file_is_private_and_removed():
    with Listener(family="AF_UNIX") as listener:
        path = listener.address
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o700
    assert not os.path.exists(path)


def test_explicit_unix_path_is_private_and_removed(tmp_path):
    path = str(tmp_path / "my.sock")
    listener = Listener(path)
    assert listener.address == path
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    listener.close()
    listener.close()
    assert not os.path.exists(path)


def test_abstract_address_leaves_no_file(tmp_path):
    address = f"\0processing-abstract-{os.getpid()}"
    before = set(os.listdir(tmp_path))
    with Listener(address) as listener:
        assert listener.address == address
        thread, _result = serve_once(listener)
        with Client(address) as conn:
            conn.send(1)
            assert conn.recv() == "pong"
        thread.join()
    assert set(os.listdir(tmp_path)) == before


def test_address_helpers_and_errors():
    assert address_type(("localhost", 1)) == "AF_INET"
    assert address_type(("::1", 1)) == "AF_INET6"
    assert address_type(("host", 1, 0, 0)) == "AF_INET6"
    assert address_type("/tmp/x") == "AF_UNIX"
    assert addressType is address_type
    with pytest.raises(ValueError, match="unrecognized"):
        address_type(42)
    with pytest.raises(ValueError, match="unrecognized family"):
        Listener(family="AF_BOGUS")
    with pytest.raises(TypeError, match="authkey"):
        Listener(authkey=12345)
    with Listener(family="AF_INET") as listener:
        address = listener.address
    with pytest.raises(ConnectionRefusedError):
        Client(address)
    with pytest.raises(FileNotFoundError):
        Client("/nonexistent/processing/socket")


def test_0_52_aliases_are_the_same_callables():
    assert deliverChallenge is deliver_challenge
    assert answerChallenge is answer_challenge


# ------------------------------------------------------------ authentication


def test_wrong_authkey_fails_on_both_sides():
    with Listener(authkey=KEY) as listener:
        thread, result = serve_once(listener)
        with pytest.raises(AuthenticationError, match="rejected"):
            Client(listener.address, authkey=b"not the key")
        thread.join()
        assert isinstance(result["error"], AuthenticationError)
        assert "wrong" in str(result["error"])


def test_client_without_key_against_authenticating_listener():
    with Listener(authkey=KEY) as listener:
        thread, result = serve_once(listener)
        with Client(listener.address) as conn:
            # The unauthenticated client sends a pickle where an answer was due.
            conn.recv_bytes()
            conn.send("hello?")
        thread.join()
        assert isinstance(result["error"], AuthenticationError)


def test_authenticating_client_against_a_garbage_server():
    with Listener(family="AF_UNIX") as listener:

        def garbage() -> None:
            with listener.accept() as conn:
                conn.send_bytes(b"garbage instead of a challenge")
                with contextlib.suppress(EOFError, OSError):
                    conn.recv_bytes()

        thread = threading.Thread(target=garbage)
        thread.start()
        with pytest.raises(AuthenticationError, match="expected a challenge"):
            Client(listener.address, authkey=KEY)
        thread.join()


def test_handshake_over_a_pipe_with_every_digest():
    from processing_core._auth import ACCEPTED_DIGESTS

    for digest in sorted(ACCEPTED_DIGESTS):
        a, b = Pipe()
        with a, b:
            thread = threading.Thread(target=answer_challenge, args=(b, KEY))
            thread.start()
            deliver_challenge(a, KEY, digest)
            thread.join()
    with pytest.raises(ValueError, match="unsupported digest"):
        deliver_challenge(a, KEY, "md5")


def test_responder_refuses_an_unknown_digest():
    a, b = Pipe()
    with a, b:
        a.send_bytes(b"#CHALLENGE:{md5}" + os.urandom(20))
        with pytest.raises(AuthenticationError, match="unsupported digest 'md5'"):
            answer_challenge(b, KEY)


def test_challenger_refuses_a_downgraded_answer():
    import hmac

    a, b = Pipe()
    with a, b:

        def downgrade() -> None:
            message = b.recv_bytes()[len(b"#CHALLENGE:") :]
            b.send_bytes(b"{sha512}" + hmac.new(KEY, message, "sha512").digest())
            b.recv_bytes()

        thread = threading.Thread(target=downgrade)
        thread.start()
        with pytest.raises(AuthenticationError, match="wrong"):
            deliver_challenge(a, KEY)
        thread.join()


def test_key_never_travels():
    """What crosses the wire in a handshake never contains the key."""
    key = b"K" * 32
    a, b = socket.socketpair()
    seen = bytearray()
    from processing_core.connection import Connection

    left, right = Connection(a.detach()), Connection(b.detach())

    class Tap:
        def __init__(self, conn):
            self.conn, self.closed = conn, False

        def send_bytes(self, data):
            seen.extend(data)
            self.conn.send_bytes(data)

        def recv_bytes(self, maxlength=None):
            data = self.conn.recv_bytes(maxlength)
            seen.extend(data)
            return data

    with left, right:
        thread = threading.Thread(target=answer_challenge, args=(right, key))
        thread.start()
        deliver_challenge(Tap(left), key)
        thread.join()
    assert key not in seen and key[:8] not in seen


# --------------------------------------------------------- garbage and fuzzing

UNPICKLED: list[str] = []


def record_unpickling(tag: str) -> str:
    UNPICKLED.append(tag)
    return tag


class Tripwire:
    """Records its own unpickling: proof of whether a peer's pickle was loaded."""

    def __init__(self, tag: str) -> None:
        self.tag = tag

    def __reduce__(self):
        return record_unpickling, (self.tag,)


def test_tripwire_works():
    pickle.loads(pickle.dumps(Tripwire("self-test")))
    assert UNPICKLED.pop() == "self-test"


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(lambda: pickle.dumps(Tripwire("raw")), id="raw-pickle"),
        pytest.param(lambda: struct.pack("!i", 30) + pickle.dumps(Tripwire("framed"))[:30], id="framed-pickle"),
        pytest.param(lambda: b"\xff\xff\xff\xff" + struct.pack("!Q", 2**62), id="huge-header"),
        pytest.param(lambda: struct.pack("!i", 2**31 - 1), id="2GiB-header"),
        pytest.param(lambda: os.urandom(1000), id="random"),
        pytest.param(lambda: b"", id="nothing"),
    ],
)
def test_garbage_before_authentication(garbage):
    with Listener(family="AF_INET", authkey=KEY) as listener:
        with socket.create_connection(listener.address) as raw:
            raw.sendall(garbage())
            raw.shutdown(socket.SHUT_WR)
            with pytest.raises(AuthenticationError):
                listener.accept()
    assert UNPICKLED == []


@pytest.mark.timeout(120)
def test_fuzzed_listener_survives_and_unpickles_nothing():
    rng = random.Random(20261125)
    tripwire = pickle.dumps(Tripwire("fuzz"))
    failures: list[BaseException] = []
    served: list[object] = []
    with Listener(family="AF_UNIX", authkey=KEY, max_message_size=1 << 20) as listener:

        def server() -> None:
            while True:
                try:
                    conn = listener.accept()
                except (AuthenticationError, EOFError, ConnectionError) as exc:
                    failures.append(exc)
                    continue
                except OSError:
                    return  # the listener was closed
                with conn:
                    message = conn.recv()
                    served.append(message)
                    conn.send(("served", message))
                    if message == "stop":
                        return

        thread = threading.Thread(target=server)
        thread.start()
        rounds = 300
        for _ in range(rounds):
            choice = rng.randrange(5)
            if choice == 0:
                payload = rng.randbytes(rng.randrange(1, 3000))
            elif choice == 1:
                payload = struct.pack("!i", len(tripwire)) + tripwire
            elif choice == 2:
                payload = struct.pack("!I", rng.randrange(2**32)) + rng.randbytes(rng.randrange(64))
            elif choice == 3:
                # A well-formed challenge answer shape with a wrong digest.
                payload = struct.pack("!i", 40) + b"{sha256}" + rng.randbytes(32)
            else:
                payload = rng.randbytes(rng.randrange(1, 16))
            with socket.socket(socket.AF_UNIX) as raw:
                raw.connect(listener.address)
                with contextlib.suppress(OSError):
                    raw.sendall(payload)
                    raw.shutdown(socket.SHUT_WR)
                    while raw.recv(4096):
                        pass
        # The server survived: a real client still gets served.
        with Client(listener.address, authkey=KEY) as conn:
            conn.send("stop")
            assert conn.recv() == ("served", "stop")
        thread.join()
    assert served == ["stop"]
    assert len(failures) == rounds
    assert all(isinstance(exc, AuthenticationError) for exc in failures)
    assert UNPICKLED == []


# ----------------------------------------------------------------------- wait


def test_wait_over_connections_sockets_and_fds():
    a, b = Pipe()
    c, d = Pipe(duplex=False)
    s1, s2 = socket.socketpair()
    r, w = os.pipe()
    try:
        objects = [a, c, s1, r]
        assert wait(objects, timeout=0.05) == []
        b.send(1)
        assert wait(objects, timeout=5) == [a]
        os.write(w, b"x")
        s2.send(b"y")
        assert wait(objects, timeout=5) == [a, s1, r]
        a.recv()
        d.close()
        assert wait([c, c], timeout=5) == [c, c]  # end of stream; duplicates are kept
        assert wait([], timeout=0) == []
        with pytest.raises(TypeError, match="cannot wait on"):
            wait([object()], timeout=0)
    finally:
        for thing in (a, b, c, s1, s2):
            thing.close()
        os.close(r)
        os.close(w)


def test_wait_blocks_until_ready():
    a, b = Pipe()
    with a, b:
        timer = threading.Timer(0.2, a.send, args=("wake",))
        timer.start()
        assert wait([b]) == [b]
        timer.join()
        assert b.recv() == "wake"


# -------------------------------------------------------- descriptor passing


def test_send_and_recv_handle_in_process():
    a, b = Pipe()
    r, w = os.pipe()
    with a, b:
        send_handle(a, w, os.getpid())
        received = recv_handle(b)
        assert received != w
        os.write(received, b"through a passed descriptor")
        os.close(received)
        os.close(w)
        assert os.read(r, 100) == b"through a passed descriptor"
        os.close(r)
        a.close()
        with pytest.raises(EOFError):
            recv_handle(b)


def test_connection_and_socket_pickle_outside_start_up():
    x, y = Pipe()
    with x, y:
        clone = pickle.loads(pickle.dumps(x))
        with clone:
            assert clone.fileno() != x.fileno()
            clone.send("from the clone")
            assert y.recv() == "from the clone"
    s1, s2 = socket.socketpair()
    with s1, s2:
        clone_socket = pickle.loads(ForkingPickler.dumps(s1))
        with clone_socket:
            clone_socket.sendall(b"hi")
            assert s2.recv(2) == b"hi"
            assert clone_socket.family == s1.family


def test_connection_sent_over_a_connection():
    x, y = Pipe()
    p, q = Pipe()
    with x, y, p, q:
        p.send(x)
        received = q.recv()
        with received:
            assert received.readable and received.writable
            received.send("via a passed connection")
            assert y.recv() == "via a passed connection"
