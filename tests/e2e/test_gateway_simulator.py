"""End to end through the real OCPP gateway (Basic auth) with the simulator as the station."""

from __future__ import annotations

import asyncio

from sigec_actors.charge_point.commands import send_command
from sigec_actors.config import load_settings
from sigec_actors.domain.records import NewStation
from sigec_actors.ocpp.gateway import OcppGateway
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.services.passwords import Passwords
from sigec_actors.simulator import SimConfig, SimulatedStation
from sigec_actors.testing import MemoryCache
from sigec_actors.testing.ocpp import ChargePointHarness

PASSWORD = "e2e-station-password-0001"


async def test_simulator_through_the_real_gateway() -> None:
    async with ChargePointHarness() as cp:
        assert cp.sessions is not None
        await cp.fakes.stations.register(NewStation(
            id="GW-SIM", security_profile=1, password_hash=Passwords(1).hash_sync(PASSWORD)))
        settings = load_settings(env={}, overrides={"auth.hash_concurrency": 1})
        gateway = OcppGateway(settings, cp.fakes.stations, Passwords(1), MemoryCache(),
                              cp.sessions)
        port = await gateway.start("127.0.0.1", 0)
        try:
            sim = await SimulatedStation.connect(f"ws://127.0.0.1:{port}/ocpp",
                                                 SimConfig("GW-SIM"), password=PASSWORD)
            async with sim:
                assert (await sim.boot()).status == "Accepted"
                await sim.status(1, 1, "Available")
                response = await asyncio.wait_for(send_command(
                    cp.sessions, "GW-SIM", m.GetVariablesRequest(get_variable_data=(
                        m.GetVariableData(component=m.Component(name="OCPPCommCtrlr"),
                                          variable=m.Variable(name="HeartbeatInterval")),))),
                    timeout=5)
                [result] = response.get_variable_result  # type: ignore[attr-defined]
                assert result.attribute_value == "300"
                assert sim.stats.max_in_flight == 1
        finally:
            await gateway.stop()
        station = await cp.fakes.stations.get("GW-SIM")
        assert station is not None and station.vendor == "SIGEC"
