"""Hypothesis through the real gateway of a running node: any frame, any payload for every action.
After each one the connection still answers a Heartbeat, or it was closed with a protocol code
(1002, 1007, 1009) and a new one works; the server never crashes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import urllib.request
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from sigec_actors.ocpp.generated.v201 import ACTIONS
from tests.fault.conftest import fault_server, report
from tests.fault.test_connection_faults import _register
from tests.helpers.server import ServerProcess
from tests.ocpp.test_fuzz import frame_like, json_values

pytestmark = [pytest.mark.pg, pytest.mark.nats, pytest.mark.slow]
FUZZ = settings(max_examples=120, derandomize=True, database=None, deadline=None,
                suppress_health_check=list(HealthCheck))
PROTOCOL_CLOSES = {1002, 1007, 1009}
STATION = "CP-FUZZ"


class Probe:
    """One station connection that is re-opened whenever the server closed it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.ws: ClientConnection | None = None
        self.stack = contextlib.ExitStack()
        self.closes: Counter[int] = Counter()
        self.sent = 0
        self.n = 0

    def open(self) -> ClientConnection:
        if self.ws is None:
            self.stack = contextlib.ExitStack()
            self.ws = self.stack.enter_context(connect(
                self.url, subprotocols=["ocpp2.0.1"], max_size=None,  # type: ignore[list-item]
                open_timeout=10))
            self.call("BootNotification", {"reason": "PowerUp", "chargingStation": {
                "model": "Fuzz", "vendorName": "T"}})
        return self.ws

    def call(self, action: str, payload: dict[str, Any]) -> list[Any]:
        """Send a CALL and skip whatever comes first (answers to fuzz frames) until its answer."""
        assert self.ws is not None
        self.n += 1
        uid = f"probe-{self.n}"
        self.ws.send(json.dumps([2, uid, action, payload]))
        while True:
            reply = self.ws.recv(timeout=15)
            frame = json.loads(reply)
            if isinstance(frame, list) and len(frame) > 1 and frame[1] == uid:
                return frame

    def send(self, frame: str | bytes) -> None:
        """Send one fuzz frame, then check the connection still answers or closed properly."""
        ws = self.open()
        self.sent += 1
        try:
            ws.send(frame)
            assert self.call("Heartbeat", {})[0] == 3
        except ConnectionClosed as closed:
            code = closed.rcvd.code if closed.rcvd is not None else None
            assert code in PROTOCOL_CLOSES, f"closed with {code} after {frame!r:.200}"
            self.closes[code] += 1
            self.close()

    def close(self) -> None:
        self.stack.close()
        self.ws = None


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory, pg_dsn: str,
         nats_url: str) -> Iterator[ServerProcess]:
    tmp = tmp_path_factory.mktemp("fuzz")
    server = fault_server(tmp, pg_dsn, nats_url, SIGEC_OCPP__MAX_FRAME_BYTES="4096")
    server.start()
    asyncio.run(_register(pg_dsn, [STATION]))
    yield server
    server.kill()


@pytest.fixture(scope="module")
def probe(node: ServerProcess) -> Iterator[Probe]:
    p = Probe(f"{node.ocpp}/{STATION}")
    yield p
    p.close()
    assert node.proc is not None and node.proc.poll() is None, "the server crashed"
    with urllib.request.urlopen(node.http + "/health/live", timeout=5) as resp:
        assert resp.status == 200
    fresh = Probe(f"{node.ocpp}/{STATION}")
    fresh.send('[2,"x","Heartbeat",{}]')
    fresh.close()
    report("gateway-fuzz", frames_sent=p.sent, protocol_closes=dict(p.closes))


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300))
def test_any_frame(probe: Probe, data: bytes | str) -> None:
    probe.send(data)


@FUZZ
@given(frame_like)
def test_frame_shaped_json(probe: Probe, parts: list[Any]) -> None:
    probe.send(json.dumps(parts))


@FUZZ
@given(st.sampled_from(sorted(ACTIONS)), st.dictionaries(st.text(max_size=20), json_values))
def test_any_payload_for_every_action(probe: Probe, action: str, payload: dict[str, Any]) -> None:
    probe.send(json.dumps([2, "fuzz", action, payload]))


@settings(FUZZ, max_examples=10)
@given(st.sampled_from([5000, 100_000]))
def test_frames_over_the_limit_close_1009(probe: Probe, size: int) -> None:
    probe.send("x" * size)
    assert probe.closes[1009] > 0
