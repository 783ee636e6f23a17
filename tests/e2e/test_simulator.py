"""End to end over real loopback WebSockets: the simulator against StationSessions and actors."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import msgspec
import pytest

from sigec_actors.charge_point.commands import (
    CommandTimeout,
    StationOffline,
    send_command,
)
from sigec_actors.charge_point.sessions import StationSessions
from sigec_actors.charge_point.transactions import StoreTransactionEvents
from sigec_actors.domain.records import NewStation
from sigec_actors.node_tree import NodeTree
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.runtime import ActorSystem, SystemClock
from sigec_actors.simulator import SimConfig, SimulatedStation
from sigec_actors.testing import InMemoryAuditLog, MemoryEventBus
from sigec_actors.testing.ocpp import AcceptAllTokens, Fakes, LoopbackGateway, make_deps
from sigec_actors.testing.runtime import FakeClock

NOW = datetime(2025, 1, 1, tzinfo=UTC)
VAR = m.GetVariableData(component=m.Component(name="OCPPCommCtrlr"),
                        variable=m.Variable(name="HeartbeatInterval"))
COMMANDS: list[tuple[msgspec.Struct, str | None]] = [
    (m.RequestStartTransactionRequest(id_token=m.IdToken(id_token="APP-1",
                                                         type=m.IdTokenEnum.CENTRAL),
                                      remote_start_id=42, evse_id=1), "Accepted"),
    (m.RequestStopTransactionRequest(transaction_id="none"), "Accepted"),
    (m.ResetRequest(type=m.ResetEnum.ON_IDLE), "Accepted"),
    (m.TriggerMessageRequest(requested_message=m.MessageTriggerEnum.HEARTBEAT), "Accepted"),
    (m.UnlockConnectorRequest(evse_id=1, connector_id=1), "Unlocked"),
    (m.ChangeAvailabilityRequest(operational_status=m.OperationalStatusEnum.OPERATIVE),
     "Accepted"),
    (m.SetChargingProfileRequest(evse_id=1, charging_profile=m.ChargingProfile(
        id=1, stack_level=0, charging_profile_purpose=m.ChargingProfilePurposeEnum.TX_DEFAULT_PROFILE,
        charging_profile_kind=m.ChargingProfileKindEnum.ABSOLUTE,
        charging_schedule=(m.ChargingSchedule(
            id=1, charging_rate_unit=m.ChargingRateUnitEnum.W, start_schedule=NOW,
            charging_schedule_period=(m.ChargingSchedulePeriod(start_period=0, limit=7000.0),)),
        ))), "Accepted"),
    (m.ClearChargingProfileRequest(charging_profile_id=1), "Accepted"),
    (m.GetChargingProfilesRequest(request_id=1, charging_profile=m.ChargingProfileCriterion(
        charging_profile_purpose=m.ChargingProfilePurposeEnum.TX_DEFAULT_PROFILE)), "NoProfiles"),
    (m.GetCompositeScheduleRequest(duration=3600, evse_id=1), "Accepted"),
    (m.GetVariablesRequest(get_variable_data=(VAR,)), None),
    (m.SetVariablesRequest(set_variable_data=(m.SetVariableData(
        attribute_value="60", component=VAR.component, variable=VAR.variable),)), None),
    (m.GetBaseReportRequest(request_id=7, report_base=m.ReportBaseEnum.FULL_INVENTORY),
     "Accepted"),
    (m.UpdateFirmwareRequest(request_id=3, firmware=m.Firmware(
        location="https://fw.example/1.bin", retrieve_date_time=NOW)), "Accepted"),
    (m.GetLogRequest(log_type=m.LogEnum.DIAGNOSTICS_LOG, request_id=4, log=m.LogParameters(
        remote_location="https://logs.example/up")), "Accepted"),
    (m.ReserveNowRequest(id=5, expiry_date_time=NOW, id_token=m.IdToken(
        id_token="R", type=m.IdTokenEnum.ISO14443)), "Accepted"),
    (m.CancelReservationRequest(reservation_id=5), "Accepted"),
    (m.ClearCacheRequest(), "Accepted"),
    (m.DataTransferRequest(vendor_id="com.sigec", data={"ping": 1}), "Accepted"),
]


@dataclass
class Node:
    sessions: StationSessions
    fakes: Fakes
    url: str


@pytest.fixture
async def node() -> AsyncIterator[Node]:
    fakes = Fakes(FakeClock())
    authorizer = AcceptAllTokens()
    clock = SystemClock()
    deps = make_deps(clock, stations=fakes.stations,
                     transactions=StoreTransactionEvents(fakes.tx_events, authorizer),
                     audit=InMemoryAuditLog(), bus=MemoryEventBus(), authorizer=authorizer)
    system = ActorSystem(clock=clock, name="node-1")
    tree = await NodeTree.start(system)
    sessions = StationSessions(tree.charge_points, deps)
    gateway = LoopbackGateway(sessions)
    async with gateway.running():
        yield Node(sessions, fakes, gateway.url)
    await system.shutdown()
    await sessions.aclose()


async def station(node: Node, station_id: str, **knobs: object) -> SimulatedStation:
    await node.fakes.stations.register(NewStation(id=station_id, security_profile=0))
    sim = await SimulatedStation.connect(node.url, SimConfig(station_id, **knobs))  # type: ignore[arg-type]
    boot = await sim.boot()
    assert boot.status == "Accepted"
    return sim


async def eventually(check: object, timeout_s: float = 5.0) -> None:
    for _ in range(int(timeout_s / 0.01)):
        if check():  # type: ignore[operator]
            return
        await asyncio.sleep(0.01)
    raise AssertionError("condition not met in time")


async def test_boot_status_authorize_and_a_transaction(node: Node) -> None:
    async with await station(node, "SIM-1") as sim:
        await sim.status(1, 1, "Available")
        assert (await sim.heartbeat()).current_time.endswith("Z")
        assert (await sim.authorize("CARD-1")).id_token_info["status"] == "Accepted"
        tx = await sim.run_transaction("CARD-1", updates=3)
        events = await node.fakes.tx_events.events("SIM-1", tx.transaction_id)
        assert [e.seq_no for e in events] == [0, 1, 2, 3, 4]
        stored = await node.fakes.tx_events.find("SIM-1", tx.transaction_id)
        assert stored is not None and stored.status.value == "Ended"
    subjects = node.fakes.outbox.subjects()
    assert subjects[:3] == ["ocpp.device.connected", "ocpp.device.boot", "ocpp.device.status"]
    await eventually(lambda: node.fakes.outbox.subjects()[-1] == "ocpp.device.disconnected")


async def test_every_command_answered(node: Node) -> None:
    async with await station(node, "SIM-2") as sim:
        for request, expected in COMMANDS:
            response = await send_command(node.sessions, "SIM-2", request, timeout_s=5)
            if expected is not None:
                assert str(response.status) == expected, type(request).__name__  # type: ignore[attr-defined]
        assert len(sim.stats.commands) == len(COMMANDS) == 19
        assert sim.stats.max_in_flight == 1
        await eventually(lambda: "RequestStartTransaction" in sim.follow_ups
                         and node.sessions.session("SIM-2") is not None)


async def test_ten_concurrent_commands_never_overlap_on_the_wire(node: Node) -> None:
    """R7 over a real socket: the simulator counts CSMS CALLs unanswered at once."""
    async with await station(node, "SIM-3", delay_s=0.02) as sim:
        results = await asyncio.gather(*[
            send_command(node.sessions, "SIM-3", m.ClearCacheRequest(), timeout_s=5)
            for _ in range(10)])
        assert all(r.status == m.ClearCacheStatusEnum.ACCEPTED for r in results)  # type: ignore[attr-defined]
        assert sim.stats.commands["ClearCache"] == 10
        assert sim.stats.max_in_flight == 1


async def test_timeout_frees_the_slot_and_offline_after_close(node: Node) -> None:
    sim = await station(node, "SIM-4", silent=frozenset({"Reset"}))
    with pytest.raises(CommandTimeout):
        await send_command(node.sessions, "SIM-4", m.ResetRequest(type=m.ResetEnum.IMMEDIATE),
                           timeout_s=0.2)
    response = await send_command(node.sessions, "SIM-4", m.ClearCacheRequest(), timeout_s=5)
    assert response.status == m.ClearCacheStatusEnum.ACCEPTED  # type: ignore[attr-defined]
    await sim.close()
    await eventually(lambda: node.sessions.session("SIM-4") is None)
    with pytest.raises(StationOffline):
        await send_command(node.sessions, "SIM-4", m.ClearCacheRequest())

