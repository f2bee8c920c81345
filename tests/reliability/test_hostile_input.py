"""Hostile input: fuzzed connection framing, authentication handshake and manager
protocol; oversized headers; silent clients; nothing unpickled before authentication.

Every read is preceded by a bounded ``poll`` or made after the peer shut its side, so a
hang fails the test (and pytest-timeout bounds it anyway)."""

from __future__ import annotations

import pickle
import socket
import struct
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from processing_core import AuthenticationError, Connection
from processing_core._auth import answer_challenge, deliver_challenge
from processing_core.connection import Client, Listener
from processing_managers import SyncManager
from reliability_helpers import count

KEY = b"reliability key"
POLL = 10.0
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _pair(max_message_size: int | None = 1 << 16) -> tuple[Connection, socket.socket]:
    ours, theirs = socket.socketpair()
    return Connection(ours.detach(), max_message_size=max_message_size), theirs


def _frames() -> st.SearchStrategy[bytes]:
    header = st.one_of(
        st.integers(0, 2**31 - 1).map(lambda n: struct.pack("!i", n)),
        st.integers(-(2**31), -1).map(lambda n: struct.pack("!i", n)),
        st.integers(0, 2**64 - 1).map(lambda n: b"\xff\xff\xff\xff" + struct.pack("!Q", n)),
    )
    return st.one_of(st.binary(max_size=600), st.tuples(header, st.binary(max_size=300)).map(b"".join))


# ------------------------------------------------------------------ framing


@given(data=st.lists(_frames(), max_size=4).map(b"".join))
@FUZZ
def test_fuzzed_framing_gives_messages_or_a_clean_error(data: bytes) -> None:
    conn, peer = _pair()
    with peer:
        peer.sendall(data)
        peer.shutdown(socket.SHUT_WR)
        try:
            for _ in range(len(data) + 1):
                assert conn.poll(POLL), "the reader saw neither data nor end of file"
                message = conn.recv_bytes()
                assert isinstance(message, bytes) and len(message) <= 1 << 16
        except (EOFError, OSError):
            pass  # a truncated or refused frame, or the end: the only other outcomes
        finally:
            conn.close()
    count("inputs tried")


@pytest.mark.parametrize("claimed", [(1 << 16) + 1, 2**31 - 1, 2**40])
def test_an_oversized_header_is_refused_without_waiting_for_the_body(claimed: int) -> None:
    conn, peer = _pair(max_message_size=1 << 16)
    with peer:
        header = struct.pack("!i", claimed) if claimed < 2**31 else b"\xff\xff\xff\xff" + struct.pack("!Q", claimed)
        peer.sendall(header + b"tiny")  # the peer never sends the body it announced
        assert conn.poll(POLL)
        with pytest.raises(OSError):
            conn.recv_bytes()
        assert conn.closed
    count("inputs tried")


# ----------------------------------------------------------------- handshake


def _hostile_handshake() -> st.SearchStrategy[bytes]:
    framed = st.binary(max_size=300).map(lambda body: struct.pack("!i", len(body)) + body)
    challenge = st.tuples(
        st.sampled_from([b"{sha256}", b"{md5}", b"{", b"{sha512}", b""]), st.binary(max_size=80)
    ).map(lambda t: b"#CHALLENGE:" + t[0] + t[1])
    framed_challenge = challenge.map(lambda body: struct.pack("!i", len(body)) + body)
    return st.lists(st.one_of(st.binary(max_size=300), framed, framed_challenge), max_size=3).map(b"".join)


@given(data=_hostile_handshake())
@FUZZ
def test_fuzzed_peer_never_passes_deliver_challenge(data: bytes) -> None:
    conn, peer = _pair()
    with peer, conn:
        peer.sendall(data)
        peer.shutdown(socket.SHUT_WR)
        with pytest.raises((AuthenticationError, OSError)):
            deliver_challenge(conn, KEY)
    count("inputs tried")


@given(data=_hostile_handshake())
@FUZZ
def test_fuzzed_peer_never_passes_answer_challenge(data: bytes) -> None:
    conn, peer = _pair()
    with peer, conn:
        peer.sendall(data)
        peer.shutdown(socket.SHUT_WR)
        # A peer may well send a challenge and a welcome (answering proves only our
        # knowledge of the key), but the client's own challenge, which follows as in
        # Client(), is what a peer without the key cannot pass.
        with pytest.raises((AuthenticationError, OSError)):
            answer_challenge(conn, KEY)
            deliver_challenge(conn, KEY)
    count("inputs tried")


@pytest.mark.parametrize("client_key", [b"", b"wrong key", KEY[:-1], None], ids=["empty", "wrong", "prefix", "none"])
def test_wrong_and_empty_authkeys_are_refused(client_key: bytes | None) -> None:
    with Listener(family="AF_UNIX", authkey=KEY) as listener:
        outcome: dict[str, BaseException] = {}

        def accept() -> None:
            try:
                listener.accept().close()
            except BaseException as exc:
                outcome["server"] = exc

        server = threading.Thread(target=accept)
        server.start()
        # A client without a key reads the server's challenge as a (bad) pickle.
        with pytest.raises((AuthenticationError, EOFError, OSError, pickle.UnpicklingError)):
            conn = Client(listener.address, authkey=client_key)
            conn.send("hello")  # a client without a key is only refused when it talks
            conn.recv()
        server.join(POLL)
        assert not server.is_alive()
        assert isinstance(outcome.get("server"), AuthenticationError)
    count("inputs tried")


# --------------------------------------------------------- nothing unpickled


class OpensAFile:
    """Unpickling this creates ``path`` (builtins.open): visible from any process."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)

    def __reduce__(self) -> tuple[Any, ...]:
        return open, (self.path, "w")


def _tripwire_payloads(path: Path) -> list[bytes]:
    pickled = pickle.dumps(OpensAFile(path))
    return [pickled, struct.pack("!i", len(pickled)) + pickled, b"garbage" + struct.pack("!i", len(pickled)) + pickled]


def test_a_listener_unpickles_nothing_before_authentication(tmp_path: Path) -> None:
    tripwire = tmp_path / "unpickled"
    with Listener(family="AF_UNIX", authkey=KEY) as listener:
        for payload in _tripwire_payloads(tripwire):
            with socket.socket(socket.AF_UNIX) as raw:
                raw.connect(listener.address)
                raw.sendall(payload)
                raw.shutdown(socket.SHUT_WR)
                with pytest.raises(AuthenticationError):
                    listener.accept()
            count("inputs tried")
    assert not tripwire.exists()


@pytest.fixture
def manager() -> Any:
    with SyncManager() as running:
        yield running


def test_a_manager_unpickles_nothing_before_authentication(manager: Any, tmp_path: Path) -> None:
    tripwire = tmp_path / "unpickled"
    for payload in _tripwire_payloads(tripwire):
        with socket.socket(socket.AF_UNIX) as raw:
            raw.connect(manager.address)
            raw.sendall(payload)
            raw.shutdown(socket.SHUT_WR)
            raw.settimeout(POLL)
            try:
                while raw.recv(4096):  # the server answers with a challenge/failure and closes
                    pass
            except ConnectionResetError:
                pass  # it closed with our garbage unread
        count("inputs tried")
    assert manager.list([1])[:] == [1]
    assert not tripwire.exists()
    # Control: the same payload from an authenticated peer is unpickled (the tripwire works).
    with Client(manager.address, authkey=bytes(manager._authkey)) as conn:
        conn.send_bytes(_tripwire_payloads(tripwire)[0])
        assert conn.poll(POLL)
        conn.recv()
    assert tripwire.exists()


# ----------------------------------------------------------- manager protocol

_OPS = st.sampled_from(["call", "create", "incref", "decref", "exposed", "count", "debug_info", "ping", "nope", ""])
_VALUES = st.one_of(st.none(), st.integers(), st.text(max_size=20), st.binary(max_size=20), st.booleans())
_REQUESTS = st.one_of(
    st.tuples(
        _OPS,
        _VALUES,
        _VALUES,
        st.lists(_VALUES, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=5), _VALUES, max_size=2),
    ),
    st.lists(_VALUES, max_size=7).map(tuple),
    _VALUES,
)


@given(requests=st.lists(_REQUESTS, min_size=1, max_size=5))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_fuzzed_requests_after_authentication_leave_the_manager_serving(manager: Any, requests: list[Any]) -> None:
    with Client(manager.address, authkey=bytes(manager._authkey)) as conn:
        for request in requests:
            conn.send(request)
            assert conn.poll(POLL), f"no reply to {request!r}"
            status, _payload = conn.recv()
            assert status in (0, 1, 2, 3)
            count("inputs tried")
        conn.send(("ping", None, None, (), {}))
        assert conn.recv() == (0, "pong")


@given(garbage=st.binary(min_size=1, max_size=400).filter(lambda b: not b.startswith(b"\x80")))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_garbage_bytes_after_authentication_fail_only_that_request(manager: Any, garbage: bytes) -> None:
    with Client(manager.address, authkey=bytes(manager._authkey)) as conn:
        conn.send_bytes(garbage)
        assert conn.poll(POLL)
        assert conn.recv()[0] in (1, 3)
        conn.send(("ping", None, None, (), {}))
        assert conn.recv() == (0, "pong")
    count("inputs tried")


# ------------------------------------------------------------- silent clients


def test_silent_clients_do_not_block_a_manager(manager: Any) -> None:
    silent = []
    for _ in range(8):
        sock = socket.socket(socket.AF_UNIX)
        sock.connect(manager.address)
        silent.append(sock)
    try:
        shared = manager.dict()
        shared["served"] = True
        assert shared.copy() == {"served": True}
    finally:
        for sock in silent:
            sock.close()
    count("inputs tried", len(silent))


@pytest.mark.timeout(60)
def test_a_silent_client_does_not_block_a_listener_based_server() -> None:
    with Listener(family="AF_UNIX", authkey=KEY) as listener:
        served = threading.Event()

        def server() -> None:
            for _ in range(2):
                try:
                    with listener.accept() as conn:
                        conn.send(conn.recv())
                        served.set()
                except (AuthenticationError, EOFError, OSError):
                    continue

        thread = threading.Thread(target=server, daemon=True)
        thread.start()
        silent = socket.socket(socket.AF_UNIX)
        silent.connect(listener.address)
        time.sleep(0.1)  # the silent one is accepted first
        result: dict[str, Any] = {}

        def client() -> None:
            try:
                with Client(listener.address, authkey=KEY) as conn:
                    conn.send("hello")
                    result["reply"] = conn.recv()
            except BaseException as exc:
                result["error"] = exc

        legit = threading.Thread(target=client, daemon=True)
        legit.start()
        try:
            ok = served.wait(5.0)
        finally:
            silent.close()  # frees the server either way, so the test cleans up
            legit.join(POLL)
            thread.join(POLL)
        assert ok, "the legitimate client waited behind a silent one"


# ------------------------------------------------------------ atheris (coverage-guided)

ATHERIS_RUNS = 50_000


@pytest.mark.timeout(300)
def test_coverage_guided_fuzzing_of_framing_and_handshake() -> None:
    """atheris drives ``atheris_framing.py`` (same properties as above, guided by coverage)."""
    import subprocess
    import sys

    pytest.importorskip("atheris", reason="atheris has no wheel for this Python (the test env installs it below 3.13)")
    done = subprocess.run(
        # Linux carries a process's peak RSS across exec, so the fuzzer would start at the peak
        # of this test process (several GiB after the >4 GiB message test) and trip libFuzzer's
        # RSS limit at once: judge single allocations instead, which the framing must bound.
        [
            sys.executable,
            "atheris_framing.py",
            f"-runs={ATHERIS_RUNS}",
            "-max_len=512",
            "-seed=20261125",
            "-rss_limit_mb=0",
            "-malloc_limit_mb=1024",
        ],
        cwd=Path(__file__).parent,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"Done {ATHERIS_RUNS} runs" in done.stderr
    count("inputs tried", ATHERIS_RUNS)
