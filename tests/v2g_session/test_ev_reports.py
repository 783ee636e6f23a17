"""NotifyEVChargingNeeds refines the V2G capability: the car's SoC on the EVSE, newest first."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any

import msgspec

from sigec_actors.ocpp.generated.v201 import (
    ChargingNeeds,
    NotifyEVChargingNeedsRequest,
    NotifyEVChargingNeedsResponse,
    NotifyEVChargingNeedsStatusEnum,
)
from sigec_actors.testing.ocpp import ChargePointHarness
from sigec_actors.v2g_session.ev_reports import EvSocReports, reported_soc
from sigec_actors.v2g_session.queries import PgV2GQueries
from tests.charge_point.test_inbound import booted
from tests.v2g_session.conftest import H20, World

DC = {"requestedEnergyTransfer": "DC", "dcChargingParameters": {
    "evMaxCurrent": 200, "evMaxVoltage": 800, "stateOfCharge": 64}}
AC = {"requestedEnergyTransfer": "AC_three_phase", "acChargingParameters": {
    "energyAmount": 20_000, "evMinCurrent": 6, "evMaxCurrent": 32, "evMaxVoltage": 400}}


class Recorder:
    """The EvReports port, recording what the charge point tells it."""

    def __init__(self) -> None:
        self.told: list[tuple[str, int, ChargingNeeds]] = []

    def ev_charging_needs(self, station_id: str, evse_id: int, needs: ChargingNeeds) -> None:
        self.told.append((station_id, evse_id, needs))


def needs(raw: dict[str, Any]) -> ChargingNeeds:
    return msgspec.convert(raw, ChargingNeeds)


async def test_the_charge_point_answers_as_before_and_tells_the_port() -> None:
    recorder = Recorder()
    harness = ChargePointHarness()
    harness.deps = dataclasses.replace(harness.deps, ev_reports=recorder)

    async def answer(_station: str, _req: NotifyEVChargingNeedsRequest
                     ) -> NotifyEVChargingNeedsResponse:  # smart charging's, in the node
        return NotifyEVChargingNeedsResponse(status=NotifyEVChargingNeedsStatusEnum.ACCEPTED)

    harness.deps.handlers.handle(NotifyEVChargingNeedsRequest, answer)
    async with harness:
        link, sink = await booted(harness)
        answer = await harness.call(sink, link, "NotifyEVChargingNeeds",
                                    {"evseId": 2, "chargingNeeds": DC})
        assert answer[2] == {"status": "Accepted"}
        rejected = await harness.call(sink, link, "NotifyEVChargingNeeds",
                                      {"evseId": 0, "chargingNeeds": DC})
        assert rejected[2] == {"status": "Rejected"}
    assert [(s, e, reported_soc(n)) for s, e, n in recorder.told] == [("CP-1", 2, 64)]


def test_the_soc_comes_from_dc_parameters_only() -> None:
    assert reported_soc(needs(DC)) == 64
    assert reported_soc(needs(AC)) is None  # 2.0.1 AC parameters carry no SoC


async def _meter_soc(world: World, soc: int, at: datetime) -> None:
    async with world.pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO meter_values (charge_point_id, evse_id, transaction_id, sampled_at,"
            " measurand, unit, value) VALUES ($1, 1, $2, $3, 'SoC', 'Percent', $4)",
            world.station, world.tx_uuid, at, soc)


async def _socs(world: World) -> dict[int, int | None]:
    cap = await PgV2GQueries(world.pool).capability(world.station)
    assert cap is not None and cap.mode == "v201_negative_limit"  # the admin's mode stays
    return {e.evse_id: e.current_soc for e in cap.evses}


async def test_a_reported_soc_refines_the_capability_newest_first(world: World) -> None:
    clock = [H20]
    reports = EvSocReports(PgV2GQueries(world.pool), lambda: clock[0])
    assert await _socs(world) == {1: None}
    reports.ev_charging_needs(world.station, 1, needs(DC))
    await reports.drain()
    assert await _socs(world) == {1: 64}
    await _meter_soc(world, 61, H20 + timedelta(minutes=5))  # a newer SoC meter value wins
    assert await _socs(world) == {1: 61}
    clock[0] = H20 + timedelta(minutes=9)
    reports.ev_charging_needs(world.station, 1, needs(DC))
    reports.ev_charging_needs(world.station, 2, needs(DC))  # an EVSE with no capability row yet
    reports.ev_charging_needs(world.station, 1, needs(AC))  # no SoC: nothing written
    await reports.drain()
    assert await _socs(world) == {1: 64, 2: 64}
    clock[0] = H20 + timedelta(minutes=3)  # a report older than the stored one changes nothing
    late = {**DC, "dcChargingParameters": {**DC["dcChargingParameters"], "stateOfCharge": 90}}
    reports.ev_charging_needs(world.station, 1, needs(late))
    await reports.drain()
    assert await _socs(world) == {1: 64, 2: 64}
