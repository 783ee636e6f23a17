"""REST: id tokens and transactions, scoped to their owner (others get 404), operator lists."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import msgspec
import pytest

from api.testing import FakeCommander
from sigec_actors.domain.records import IdTokenType
from sigec_actors.ocpp.generated import v201
from tests.api.harness import (
    Api,
    Clock,
)
from tests.transactions.builders import T0, E, World, event, session, world
from tests.transactions.rest import start_tx_api
from tests.transactions.test_owner_and_late import remote


@pytest.fixture
async def api() -> AsyncIterator[tuple[Api, World]]:
    w = world()
    a = await start_tx_api(w, Clock(), FakeCommander(online={"CP-1"}))
    yield a, w
    await a.close()


async def _charge(w: World, user: str, token: str, tx: str, **kw: Any) -> None:
    await w.tokens.add(uuid.UUID(user), token, IdTokenType.ISO14443)
    for r in session(tx=tx, token=token, **kw):
        await w.service.handle_event("CP-1", r, T0)


async def test_id_tokens_are_private(api: tuple[Api, World]) -> None:
    a, _ = api
    base = "/api/v1/users/me/id-tokens"
    made = await a.json("POST", base, "user", 201, json={"idToken": "04A2B3", "type": "ISO14443"})
    assert made["status"] == "Accepted" and made["idToken"] == "04A2B3"
    await a.json("POST", base, "other", 409, json={"idToken": "04A2B3", "type": "ISO14443"})
    await a.json("POST", base, "user", 422, json={"idToken": "x", "type": "Bogus"})
    await a.json("POST", base, "user", 422, json={"idToken": "x", "owner": "me"})
    assert [t["id"] for t in await a.json("GET", base, "user")] == [made["id"]]
    assert await a.json("GET", base, "other") == []
    await a.json("DELETE", f"{base}/{made['id']}", "other", 404)
    await a.json("DELETE", f"{base}/not-a-uuid", "user", 404)
    resp = await a.call("DELETE", f"{base}/{made['id']}", "user")
    assert resp.status == 204
    assert await a.json("GET", base, "user") == []
    await a.json("GET", base, None, 401)


async def test_transaction_views_are_scoped_to_their_owner(api: tuple[Api, World]) -> None:
    a, w = api
    await _charge(w, a.ids["user"], "CARD-U", "tx-u", kwh=10)
    await _charge(w, a.ids["other"], "CARD-O", "tx-o", kwh=3)
    hist = await a.json("GET", "/api/v1/transactions/history", "user")
    assert hist["total"] == 1 and hist["limit"] == 50
    (tx,) = hist["items"]
    assert tx["stationTransactionId"] == "tx-u" and tx["chargePointId"] == "CP-1"
    assert tx["status"] == "Ended" and tx["energyWh"] == 10_000
    assert tx["cost"] == {"amountCentavos": 1_600, "currency": "BRL"}
    sample = {k: tx["meterValues"][0][k] for k in ("measurand", "value", "unit", "phase")}
    assert sample == {"measurand": "Energy.Active.Import.Register", "value": "11000.0",
                      "unit": None, "phase": None}
    assert (await a.json("GET", f"/api/v1/transactions/{tx['id']}", "user"))["id"] == tx["id"]
    await a.json("GET", f"/api/v1/transactions/{tx['id']}", "other", 404)
    await a.json("GET", "/api/v1/transactions/nope", "user", 404)
    assert (await a.json("GET", f"/api/v1/transactions/{tx['id']}", "operator"))["id"]
    admin = await a.json("GET", "/api/v1/admin/transactions?stationId=CP-1", "operator")
    assert admin["total"] == 2
    await a.json("GET", "/api/v1/admin/transactions", "user", 403)
    later = (T0 + timedelta(days=1)).isoformat()
    empty = await a.json("GET", "/api/v1/transactions/history", "user", params={"from": later})
    assert empty["total"] == 0
    await a.json("GET", "/api/v1/transactions/history", "user", 422, params={"limit": "0"})


async def test_start_stop_and_active(api: tuple[Api, World]) -> None:
    a, w = api
    started = await a.json("POST", "/api/v1/transactions/start", "user",
                           json={"chargePointId": "CP-1", "evseId": 1})
    assert started["accepted"] is True and started["status"] == "Accepted"
    station, req = a.commander.sent[-1]
    assert station == "CP-1" and isinstance(req, v201.RequestStartTransactionRequest)
    assert req.id_token.type is v201.IdTokenEnum.CENTRAL and req.evse_id == 1
    assert req.remote_start_id == started["remoteStartId"]
    again = await a.json("POST", "/api/v1/transactions/start", "user",
                         json={"chargePointId": "CP-1"})
    assert a.commander.sent[-1][1].id_token == req.id_token  # type: ignore[attr-defined]
    assert again["accepted"]
    await a.json("POST", "/api/v1/transactions/start", "user", 409,
                 json={"chargePointId": "CP-2"})  # offline
    # the station starts the session with the app token
    for r in session(tx="tx-app", token=None)[:2]:
        with_app_token = msgspec.structs.replace(r, id_token=req.id_token)
        await w.service.handle_event("CP-1", with_app_token, T0)
    (live,) = await a.json("GET", "/api/v1/transactions/active", "user")
    assert live["status"] == "Active" and live["stationTransactionId"] == "tx-app"
    assert await a.json("GET", "/api/v1/transactions/active", "other") == []
    await a.json("POST", f"/api/v1/transactions/{live['id']}/stop", "other", 404)
    stopped = await a.json("POST", f"/api/v1/transactions/{live['id']}/stop", "user")
    assert stopped == {"accepted": True, "status": "Accepted"}
    assert a.commander.sent[-1][1] == v201.RequestStopTransactionRequest(transaction_id="tx-app")
    await _charge(w, a.ids["user"], "CARD-U", "tx-done")
    done = (await a.json("GET", "/api/v1/transactions/history", "user"))["items"]
    ended = next(t for t in done if t["stationTransactionId"] == "tx-done")
    await a.json("POST", f"/api/v1/transactions/{ended['id']}/stop", "user", 409)


async def test_an_operators_remote_start_gives_the_tokenless_started_to_the_cards_owner(
        api: tuple[Api, World]) -> None:
    a, w = api
    await w.tokens.add(uuid.UUID(a.ids["user"]), "CARD-OP-1", IdTokenType.ISO14443)
    body = {"idToken": "CARD-OP-1", "idTokenType": "ISO14443", "remoteStartId": 31}
    await a.json("POST", "/api/v1/devices/CP-1/remote-start", "operator", 200, json=body)
    await a.json("POST", "/api/v1/devices/CP-1/remote-start", "operator", 409, json=body)
    await w.service.handle_event("CP-1", remote(event(E.STARTED, 0, T0, wh=0), 31), T0)
    tx = await w.store.find("CP-1", "tx-1")
    assert tx is not None and (tx.user_id, tx.id_token) == (uuid.UUID(a.ids["user"]), "CARD-OP-1")


async def test_a_remote_start_the_station_refuses_is_dropped(api: tuple[Api, World]) -> None:
    a, w = api
    a.commander.answers[v201.RequestStartTransactionRequest] = lambda _: (
        v201.RequestStartTransactionResponse(status=v201.RequestStartStopStatusEnum.REJECTED))
    body = {"idToken": "CARD-OP-2", "idTokenType": "ISO14443", "remoteStartId": 32}
    for _ in range(2):  # refused, so the operator may ask again with the same id
        refused = await a.json("POST", "/api/v1/devices/CP-1/remote-start", "operator", 200,
                               json=body)
        assert refused["status"] == "Rejected"
    assert await w.store.claim_remote_start("CP-1", 32, "tx-any") is None
    mine = await a.json("POST", "/api/v1/transactions/start", "user",
                        json={"chargePointId": "CP-1"})
    assert mine["accepted"] is False
    assert await w.store.claim_remote_start("CP-1", mine["remoteStartId"], "tx-any") is None
    del a.commander.answers[v201.RequestStartTransactionRequest]
    await a.json("POST", "/api/v1/devices/CP-1/remote-start", "operator", 200, json=body)
    await a.json("POST", "/api/v1/devices/CP-1/remote-start", "operator", 409, json=body)


async def test_a_raw_request_start_transaction_links_its_started_like_the_remote_start_route(
        api: tuple[Api, World]) -> None:
    """POST /devices/{id}/ocpp/RequestStartTransaction is an operator's remote start too: its
    remoteStartId is stored before it is sent, so the station's tokenless Started gets the
    card's owner (it had no user), and a taken id is 409."""
    a, w = api
    await w.tokens.add(uuid.UUID(a.ids["user"]), "CARD-OP-3", IdTokenType.ISO14443)
    body = {"idToken": {"idToken": "CARD-OP-3", "type": "ISO14443"}, "remoteStartId": 33}
    path = "/api/v1/devices/CP-1/ocpp/RequestStartTransaction"
    assert (await a.json("POST", path, "admin", 200, json=body))["status"] == "Accepted"
    await a.json("POST", path, "admin", 409, json=body)
    await w.service.handle_event("CP-1", remote(event(E.STARTED, 0, T0, wh=0), 33), T0)
    tx = await w.store.find("CP-1", "tx-1")
    assert tx is not None and (tx.user_id, tx.id_token) == (uuid.UUID(a.ids["user"]), "CARD-OP-3")
