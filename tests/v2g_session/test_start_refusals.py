"""Starting a discharge on real PostgreSQL: each refusal the issue names (its HTTP status from
the problem mapping), nothing sent to the station for one, and the profile an accepted start
sends (TxProfile bound to the transaction, negative limit in W)."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import msgspec
import pytest

from api.problems import problem_for
from sigec_actors.charge_point.errors import StationOffline
from sigec_actors.domain.records import Caller
from sigec_actors.errors import SigecError
from sigec_actors.ocpp.generated import v201
from sigec_actors.v2g_session.queries import PgV2GQueries, Preferences
from sigec_actors.v2g_session.service import DischargeService, StartRequest
from sigec_actors.v2g_session.state import SessionPolicy, Status, V2GState
from tests.v2g_session.conftest import World

pytestmark = pytest.mark.pg


class Station:
    """A Commander that records each request and answers SetChargingProfile `status`."""

    def __init__(self, status: str = "Accepted", error: SigecError | None = None) -> None:
        self.status = status
        self.error = error
        self.sent: list[msgspec.Struct] = []

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        self.sent.append(request)
        if self.error is not None:
            raise self.error
        return v201.SetChargingProfileResponse(status=v201.ChargingProfileStatusEnum(self.status))


def service(world: World, station: Station, ran: list[V2GState]) -> DischargeService:
    async def run(state: V2GState, caller: Caller) -> None:
        ran.append(state)

    async def stop(session_id: uuid.UUID, reason: str, caller: Caller) -> V2GState | None:
        return None

    return DischargeService(world.store, PgV2GQueries(world.pool), station,
                            clock=lambda: datetime.now(UTC), policy=SessionPolicy(), run=run,
                            stop=stop)


async def online(world: World, up: bool = True) -> None:
    async with world.pool.acquire() as conn:
        await conn.execute("UPDATE charge_points SET online = $2 WHERE id = $1", world.station, up)


async def sessions(world: World) -> list[str]:
    async with world.pool.acquire() as conn:
        return [r["status"] for r in await conn.fetch(
            "SELECT status FROM v2g_sessions WHERE charge_point_id = $1", world.station)]


def request(world: World, **kw: object) -> StartRequest:
    return msgspec.structs.replace(StartRequest(
        user_id=world.user, station_id=world.station, evse_id=1, min_soc=30), **kw)


async def test_each_refusal_is_its_status_and_sends_nothing(world: World) -> None:
    station, ran = Station(), list[V2GState]()
    start = service(world, station, ran).start
    queries = PgV2GQueries(world.pool)

    async def nothing() -> None:
        return None

    async def mode(name: str) -> None:
        await queries.set_mode(world.station, name, 7000)

    cases: list[tuple[Callable[[], Awaitable[None]], StartRequest, int, str]] = [
        (nothing, request(world), 409, "offline"),
        (lambda: online(world), request(world, station_id="CP-nowhere"), 409, "not enabled"),
        (lambda: mode("unsupported"), request(world), 409, "not enabled"),
        (lambda: mode("ocpp21_setpoint"), request(world), 409, "OCPP 2.0.1"),
        (lambda: mode("v201_negative_limit"), request(world, evse_id=2), 409,
         "no active transaction"),
        (nothing, request(world, user_id=uuid.uuid4()), 403, "someone else's")]
    for setup, req, status, words in cases:
        await setup()
        with pytest.raises(SigecError) as refused:
            await start(req)
        problem = problem_for(refused.value)
        assert problem is not None and (problem.status, words in str(refused.value)) == (
            status, True), (req, refused.value)
    assert station.sent == [] and ran == [] and await sessions(world) == []


async def test_an_accepted_start_sends_a_negative_tx_profile_and_runs(world: World) -> None:
    await online(world)
    station, ran = Station(), list[V2GState]()
    state = await service(world, station, ran).start(request(world, max_energy_wh=5000))
    (sent,) = station.sent
    assert isinstance(sent, v201.SetChargingProfileRequest) and sent.evse_id == 1
    profile = sent.charging_profile
    assert (profile.charging_profile_purpose, profile.transaction_id, profile.stack_level) == (
        v201.ChargingProfilePurposeEnum.TX_PROFILE, world.tx_id, 2)
    (schedule,) = profile.charging_schedule
    assert schedule.charging_rate_unit is v201.ChargingRateUnitEnum.W
    assert [(p.start_period, p.limit) for p in schedule.charging_schedule_period] == [(0, -7000)]
    assert state.status is Status.ACTIVE and ran == [state]
    assert (state.min_soc, state.max_energy_wh, profile.id) == (30, 5000, state.profile_id)
    # a second start on the EVSE: 409, one live session per EVSE
    with pytest.raises(SigecError) as again:
        await service(world, station, ran).start(request(world))
    assert getattr(problem_for(again.value), "status", None) == 409
    assert len(station.sent) == 1 and await sessions(world) == ["Active"]


async def test_an_unreachable_or_refusing_station_fails_the_session(world: World) -> None:
    await online(world)
    gone = Station(error=StationOffline(world.station, "SetChargingProfile"))
    with pytest.raises(StationOffline):
        await service(world, gone, []).start(request(world))
    refusing, ran = Station("Rejected"), list[V2GState]()
    with pytest.raises(SigecError) as rejected:
        await service(world, refusing, ran).start(request(world))
    problem = problem_for(rejected.value)
    assert problem is not None and problem.status == 502 and ran == []
    assert await sessions(world) == ["Failed", "Failed"]  # the EVSE is free again


async def test_the_users_preferences_fill_the_session_limits(world: World) -> None:
    await online(world)
    await PgV2GQueries(world.pool).set_preferences(world.user, Preferences(
        min_grid_price_centavos_mwh=40_000, max_discharge_wh=8_000, preserve_soc=45))
    start = service(world, Station(), []).start
    state = await start(request(world))  # minSoc 30, no maxEnergyWh
    assert (state.min_soc, state.max_energy_wh, state.min_price_centavos_mwh) == (
        45, 8_000, 40_000)
    assert await world.store.load(state.session_id) == state
