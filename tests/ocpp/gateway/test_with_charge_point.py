"""The real gateway in front of the real charge point side (StationSessions and actors)."""

from __future__ import annotations

import json

from websockets.asyncio.client import connect
from websockets.headers import build_authorization_basic

from sigec_actors.domain.records import NewStation
from sigec_actors.ocpp.gateway import OcppGateway
from sigec_actors.testing import MemoryCache
from sigec_actors.testing.ocpp import ChargePointHarness
from tests.ocpp.gateway.conftest import (
    OCPP,
    PASSWORD,
    CountingPasswords,
    basic,
    password_hash,
    raw_upgrade,
    settings,
)

BOOT = {"reason": "PowerUp", "chargingStation": {"model": "M1", "vendorName": "V1"}}


async def test_boot_notification_through_the_gateway_reaches_the_actor() -> None:
    async with ChargePointHarness() as cp:
        assert cp.sessions is not None
        stations = cp.fakes.stations
        await stations.register(NewStation(id="CP-1", security_profile=1,
                                           password_hash=password_hash()))
        gateway = OcppGateway(settings(), stations, CountingPasswords(), MemoryCache(),
                              cp.sessions)
        port = await gateway.start("127.0.0.1", 0)
        try:
            headers = {"Authorization": build_authorization_basic("CP-1", PASSWORD)}
            async with connect(f"ws://127.0.0.1:{port}/ocpp/CP-1", subprotocols=[OCPP],
                               additional_headers=headers) as ws:
                await ws.send(json.dumps([2, "boot-1", "BootNotification", BOOT]))
                answer = json.loads(await ws.recv())
                assert answer[:2] == [3, "boot-1"]
                assert answer[2]["status"] in ("Accepted", "Pending")
                await ws.send('[2,"bad"')  # malformed: answered by the charge point side
                error = json.loads(await ws.recv())
                assert error[:3] == [4, "-1", "RpcFrameworkError"]
        finally:
            await gateway.stop()
        station = await stations.get("CP-1")
        assert station is not None
        assert station.vendor == "V1"


async def test_stations_are_refused_clearly_while_charge_points_are_stopped() -> None:
    """503 + Retry-After before the upgrade; if the supervisor stops between the handshake
    and the attach (or no `ready` is wired), 1013 "try again later" instead of 1011."""
    async with ChargePointHarness() as cp:
        assert cp.sessions is not None
        await cp.fakes.stations.register(NewStation(id="CP-1", security_profile=1,
                                                    password_hash=password_hash()))
        await cp.system.stop("/node-1/charge-points", by="test")
        gated = OcppGateway(settings(), cp.fakes.stations, CountingPasswords(), MemoryCache(),
                            cp.sessions, ready=cp.sessions.accepting, tune_gc=False)
        ungated = OcppGateway(settings(), cp.fakes.stations, CountingPasswords(),
                              MemoryCache(), cp.sessions, tune_gc=False)
        gated_port, ungated_port = (await gated.start("127.0.0.1", 0),
                                    await ungated.start("127.0.0.1", 0))
        try:
            refused = await raw_upgrade(gated_port, "/ocpp/CP-1",
                                        authorization=basic("CP-1", PASSWORD))
            refused.writer.close()
            assert refused.status == 503 and refused.headers["retry-after"] == "30"
            headers = {"Authorization": build_authorization_basic("CP-1", PASSWORD)}
            async with connect(f"ws://127.0.0.1:{ungated_port}/ocpp/CP-1", subprotocols=[OCPP],
                               additional_headers=headers) as ws:
                await ws.wait_closed()
                assert ws.close_code == 1013
        finally:
            await gated.stop()
            await ungated.stop()
