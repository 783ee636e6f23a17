"""REST reservations: reserve with the app token (ReserveNow), cancel, own lists, operator list."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import msgspec
import pytest

from api.commands import CommandTimeout
from api.routes import reservations
from api.testing import FakeCommander
from sigec_actors.ocpp.generated import v201
from sigec_actors.transactions.reservations import ReservationService
from tests.api.harness import (
    Api,
    Clock,
)
from tests.transactions.builders import T0, E, World, event, world
from tests.transactions.fakes import ListedReservations
from tests.transactions.rest import start_tx_api

BASE = "/api/v1/reservations"


@dataclass
class Poked:
    count: int = 0

    def poke(self) -> None:
        self.count += 1


@pytest.fixture
async def api() -> AsyncIterator[tuple[Api, World, Poked]]:
    clock = Clock()
    repo = ListedReservations(now=clock)
    w = world(reservations=repo)  # the service checks starts against the same rows
    commander = FakeCommander(online={"CP-1"})
    commander.answers[v201.ReserveNowRequest] = lambda _: v201.ReserveNowResponse(
        status=v201.ReserveNowStatusEnum.ACCEPTED)
    commander.answers[v201.CancelReservationRequest] = lambda _: (
        v201.CancelReservationResponse(status=v201.CancelReservationStatusEnum.ACCEPTED))
    poked = Poked()
    a = await start_tx_api(w, clock, commander, {
        reservations.EXTRAS_KEY: reservations.ReservationPorts(
            service=ReservationService(repo), repo=repo, listing=repo, timer=poked)})
    yield a, w, poked
    await a.close()


async def test_reserve_sends_reserve_now_with_the_app_token(
        api: tuple[Api, World, Poked]) -> None:
    a, _, poked = api
    made = await a.json("POST", BASE, "user", 201,
                        json={"chargePointId": "CP-1", "evseId": 1, "expiresInS": 600})
    assert made["status"] == "Accepted" and made["accepted"] is True
    assert made["chargePointId"] == "CP-1" and made["evseId"] == 1
    station, req = a.commander.sent[-1]
    assert station == "CP-1" and isinstance(req, v201.ReserveNowRequest)
    assert req.id == made["reservationId"] and req.evse_id == 1
    assert req.id_token.type is v201.IdTokenEnum.CENTRAL
    assert req.expiry_date_time == a.ctx.clock() + timedelta(seconds=600)
    assert poked.count == 1
    # one live reservation per EVSE; unknown station; offline station; bad input
    await a.json("POST", BASE, "other", 409, json={"chargePointId": "CP-1", "evseId": 1})
    await a.json("POST", BASE, "user", 404, json={"chargePointId": "CP-404"})
    await a.json("POST", BASE, "user", 409, json={"chargePointId": "CP-2", "evseId": 1})
    await a.json("POST", BASE, "user", 422, json={"chargePointId": "CP-1", "expiresInS": 5})
    assert next(r["id"] for r in await a.json("GET", BASE, "user")) == made["id"]
    assert (await a.json("GET", f"{BASE}/{made['id']}", "user"))["id"] == made["id"]


async def test_station_answers_and_failures_are_recorded(api: tuple[Api, World, Poked]) -> None:
    a, _, _ = api
    a.commander.answers[v201.ReserveNowRequest] = lambda _: v201.ReserveNowResponse(
        status=v201.ReserveNowStatusEnum.OCCUPIED)
    busy = await a.json("POST", BASE, "user", 201, json={"chargePointId": "CP-1", "evseId": 1})
    assert busy["status"] == "Occupied" and busy["accepted"] is False
    a.commander.fail_next["CP-1"] = CommandTimeout("CP-1", 30)
    await a.json("POST", BASE, "user", 504, json={"chargePointId": "CP-1", "evseId": 1})
    statuses = [r["status"] for r in await a.json("GET", BASE, "user")]
    assert sorted(statuses) == ["Occupied", "Rejected"]  # the EVSE is not held by either


async def test_only_the_holder_cancels_and_operators_see_all(
        api: tuple[Api, World, Poked]) -> None:
    a, _, _ = api
    made = await a.json("POST", BASE, "user", 201, json={"chargePointId": "CP-1", "evseId": 1})
    await a.json("DELETE", f"{BASE}/{made['id']}", "other", 404)
    await a.json("GET", f"{BASE}/{made['id']}", "other", 404)
    await a.json("DELETE", f"{BASE}/not-a-uuid", "user", 404)
    await a.json("DELETE", f"{BASE}/{uuid.uuid4()}", "user", 404)
    assert await a.json("GET", BASE, "other") == []
    listed = await a.json("GET", "/api/v1/admin/reservations", "operator",
                          params={"stationId": "CP-1", "status": "Accepted"})
    assert [r["id"] for r in listed] == [made["id"]]
    await a.json("GET", "/api/v1/admin/reservations", "user", 403)
    done = await a.json("DELETE", f"{BASE}/{made['id']}", "user")
    assert done["status"] == "Cancelled"
    assert a.commander.sent[-1] == ("CP-1", v201.CancelReservationRequest(
        reservation_id=made["reservationId"]))
    await a.json("DELETE", f"{BASE}/{made['id']}", "user", 409)  # not live any more
    again = await a.json("POST", BASE, "other", 201, json={"chargePointId": "CP-1", "evseId": 1})
    assert (await a.json("DELETE", f"{BASE}/{again['id']}", "operator"))["status"] == "Cancelled"


async def test_a_reserved_evse_starts_only_for_its_holder(api: tuple[Api, World, Poked]) -> None:
    a, w, _ = api
    made = await a.json("POST", BASE, "user", 201, json={"chargePointId": "CP-1", "evseId": 1})
    start = await a.json("POST", "/api/v1/transactions/start", "user",
                         json={"chargePointId": "CP-1", "evseId": 1})
    assert start["accepted"]
    _, mine = a.commander.sent[-1]
    assert isinstance(mine, v201.RequestStartTransactionRequest)
    other_start = await a.json("POST", "/api/v1/transactions/start", "other",
                               json={"chargePointId": "CP-1", "evseId": 1})
    _, theirs = a.commander.sent[-1]
    assert isinstance(theirs, v201.RequestStartTransactionRequest) and other_start["accepted"]
    # the station starts both; the CSMS refuses the other user's app token on the reserved EVSE
    refused = await w.service.handle_event("CP-1", msgspec.structs.replace(
        event(E.STARTED, 0, T0, tx="tx-o", wh=0), id_token=theirs.id_token), T0)
    assert refused.id_token_info is not None
    assert refused.id_token_info.status is v201.AuthorizationStatusEnum.NOT_AT_THIS_TIME
    ok = await w.service.handle_event("CP-1", msgspec.structs.replace(
        event(E.STARTED, 0, T0, tx="tx-u", wh=0), id_token=mine.id_token), T0)
    assert ok.id_token_info is not None
    assert ok.id_token_info.status is v201.AuthorizationStatusEnum.ACCEPTED
    assert (await a.json("GET", f"{BASE}/{made['id']}", "user"))["status"] == "Used"
    (live,) = await a.json("GET", "/api/v1/transactions/active", "user")
    assert live["stationTransactionId"] == "tx-u"
