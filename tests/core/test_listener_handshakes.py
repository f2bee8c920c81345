"""A Listener with an authkey runs its handshakes side by side (processing_core._handshakes)."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import pytest
from processing_core import AuthenticationError
from processing_core.connection import Client, Listener

KEY = b"handshake key"
pytestmark = pytest.mark.timeout(60)


def _client_says(address: Any, message: str, authkey: bytes, out: dict[str, Any]) -> threading.Thread:
    def run() -> None:
        try:
            with Client(address, authkey=authkey) as conn:
                conn.send(message)
                out["reply"] = conn.recv()
        except BaseException as exc:
            out["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _handshake_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "processing-handshake"]


def _wait_until(condition: Any, seconds: float = 10.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.mark.parametrize("family", ["AF_UNIX", "AF_INET"])
def test_silent_peers_ahead_of_a_real_client_do_not_delay_it(family: str) -> None:
    with Listener(family=family, authkey=KEY) as listener:
        silent = [socket.create_connection(listener.address) if family == "AF_INET" else socket.socket(socket.AF_UNIX)]
        if family == "AF_UNIX":
            silent[0].connect(listener.address)
        out: dict[str, Any] = {}
        client = _client_says(listener.address, "hello", KEY, out)
        with listener.accept() as conn:
            conn.send(conn.recv().upper())
        client.join(10)
        assert out == {"reply": "HELLO"}
        for sock in silent:
            sock.close()


def test_a_peer_that_fails_is_reported_and_the_next_one_is_served() -> None:
    with Listener(family="AF_UNIX", authkey=KEY) as listener:
        bad: dict[str, Any] = {}
        _client_says(listener.address, "x", b"wrong key", bad).join(0)  # started, not awaited
        with pytest.raises(AuthenticationError):
            listener.accept()
        good: dict[str, Any] = {}
        client = _client_says(listener.address, "ok", KEY, good)
        with listener.accept() as conn:
            conn.send(conn.recv())
        client.join(10)
        assert good == {"reply": "ok"}
        assert _wait_until(lambda: "error" in bad)
        assert isinstance(bad["error"], AuthenticationError)


def test_a_peer_that_stays_silent_is_cut_off_at_the_handshake_timeout() -> None:
    with Listener(family="AF_UNIX", authkey=KEY, handshake_timeout=0.3) as listener:
        silent = socket.socket(socket.AF_UNIX)
        silent.connect(listener.address)
        with pytest.raises(AuthenticationError, match=r"did not finish its handshake within 0\.3 s"):
            listener.accept()
        silent.settimeout(10)
        # The challenge the listener sent, then end of file: the listener let go.
        received = b""
        while chunk := silent.recv(4096):
            received += chunk
        assert b"#CHALLENGE:" in received
        silent.close()


def test_closing_the_listener_cuts_off_pending_handshakes() -> None:
    listener = Listener(family="AF_UNIX", authkey=KEY)
    silent = socket.socket(socket.AF_UNIX)
    silent.connect(listener.address)
    errors: list[BaseException] = []

    def accept() -> None:
        try:
            listener.accept()
        except BaseException as exc:
            errors.append(exc)

    acceptor = threading.Thread(target=accept)
    acceptor.start()
    assert _wait_until(lambda: len(_handshake_threads()) == 1)
    listener.close()
    acceptor.join(10)
    assert not acceptor.is_alive()
    assert len(errors) == 1 and isinstance(errors[0], OSError)
    assert _wait_until(lambda: not _handshake_threads())
    silent.settimeout(10)
    while silent.recv(4096):
        pass
    silent.close()


@pytest.mark.parametrize("bad", [0, -1.0, "10", True, float("nan")])
def test_handshake_timeout_must_be_positive_seconds(bad: Any) -> None:
    with pytest.raises(ValueError, match="handshake_timeout"):
        Listener(family="AF_UNIX", authkey=KEY, handshake_timeout=bad)


def test_no_handshake_timeout_is_allowed() -> None:
    with Listener(family="AF_UNIX", authkey=KEY, handshake_timeout=None) as listener:
        out: dict[str, Any] = {}
        client = _client_says(listener.address, 1, KEY, out)
        with listener.accept() as conn:
            conn.send(conn.recv() + 1)
        client.join(10)
        assert out == {"reply": 2}
