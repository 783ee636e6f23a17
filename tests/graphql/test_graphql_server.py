"""GraphQL on a real `sigec serve` (PostgreSQL, NATS): the REST matrix's ownership cases, the
published SDL, a subscription receiving a station's StatusNotification, limits refusing an
abusive query, a remote command reaching the station."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import asyncpg
import pytest

from api.graphql.limits import Limits
from api.graphql.schema import build_schema, sdl
from tests.graphql.world import World, module_fixtures, rest_status

pytestmark = pytest.mark.asyncio(loop_scope="module")
WS = "graphql-transport-ws"


server, world = module_fixtures("graphql")


def url(world: World) -> str:
    return str(world.server.runtime["graphqlUrl"])


async def gql(world: World, query: str, who: str | None,
              variables: dict[str, Any] | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {world.tokens[who]}"} if who else {}
    async with world.http.post(url(world), json={"query": query, "variables": variables or {}},
                               headers=headers) as resp:
        assert resp.status == 200, await resp.text()
        body: dict[str, Any] = await resp.json()
        return body


def code(body: dict[str, Any]) -> str | None:
    """The code of the first error, None when the operation succeeded."""
    errors = body.get("errors")
    return errors[0]["extensions"]["code"] if errors else None


async def test_sdl_is_published_and_is_the_served_schema(world: World) -> None:
    async with world.http.get(url(world) + "/schema.graphql") as resp:
        assert resp.status == 200
        text = await resp.text()
    server = world.server.runtime
    assert text == sdl(build_schema(Limits(10, 5000)))
    for part in ("type Query", "type Mutation", "type Subscription", "stationStatus(",
                 "transactionUpdated(", "devices(", "gridPrice(", "startTransaction("):
        assert part in text
    assert server["grpcUrl"] and server["graphqlUrl"].endswith("/graphql")


TX = "query($id: ID!) { transaction(id: $id) { id chargePointId status } }"


@pytest.mark.parametrize("who", [None, "user", "other", "operator", "admin"])
async def test_transaction_visibility_matches_rest(world: World, who: str | None) -> None:
    body = await gql(world, TX, who, {"id": world.tx_id})
    rest = await rest_status(world, "GET", f"/api/v1/transactions/{world.tx_id}", who)
    expected = {200: None, 401: "UNAUTHENTICATED", 404: "NOT_FOUND"}[rest]
    assert code(body) == expected, (who, rest, body)
    assert (who in ("user", "operator", "admin")) == (expected is None)
    if expected is None:
        assert body["data"]["transaction"]["id"] == world.tx_id


@pytest.mark.parametrize("who", ["user", "other", "operator"])
async def test_transaction_lists_mine_or_all_like_rest(world: World, who: str) -> None:
    body = await gql(world, "{ transactions(first: 50) { totalCount nodes { id } } }", who)
    ids = {n["id"] for n in body["data"]["transactions"]["nodes"]}
    assert (world.tx_id in ids) == (who != "other")


@pytest.mark.parametrize(("who", "rest_expected"), [
    (None, 401), ("user", 403), ("other", 403), ("operator", 200), ("admin", 200)])
async def test_operator_only_alerts_and_commands(world: World, who: str | None,
                                                 rest_expected: int) -> None:
    assert await rest_status(world, "GET", "/api/v1/admin/alerts", who) == rest_expected
    want = {401: "UNAUTHENTICATED", 403: "FORBIDDEN", 200: None}[rest_expected]
    assert code(await gql(world, "{ alerts(first: 5) { totalCount } }", who)) == want
    command = await gql(world, """mutation($id: String!) {
        sendCommand(chargePointId: $id, command: TRIGGER, body: {message: "Heartbeat"}) {
          status } }""", who, {"id": world.station_id})
    assert code(command) == want
    if want is None:
        assert command["data"]["sendCommand"]["status"] == "Accepted"


async def test_another_users_session_cannot_be_stopped(world: World) -> None:
    stop = "mutation($id: ID!) { stopTransaction(id: $id) { accepted } }"
    assert code(await gql(world, stop, "other", {"id": world.tx_id})) == "NOT_FOUND"
    assert await rest_status(world, "POST", f"/api/v1/transactions/{world.tx_id}/stop",
                             "other") == 404


async def test_me_wallet_and_devices_with_connectors(world: World) -> None:
    body = await gql(world, """{ me { email role } wallet { balanceCentavos currency }
        devices(first: 20) { totalCount pageInfo { hasNextPage endCursor }
          nodes { id online connectors { evseId connectorId status } } } }""", "user")
    assert code(body) is None, body
    data = body["data"]
    assert data["me"]["role"] == "user" and data["wallet"]["currency"] == "BRL"
    mine = [d for d in data["devices"]["nodes"] if d["id"] == world.station_id]
    assert mine and mine[0]["online"] is True
    assert [(c["evseId"], c["connectorId"]) for c in mine[0]["connectors"]][:1] == [(1, 1)]
    bad = await gql(world, '{ devices(first: 5, after: "nope") { totalCount } }', "user")
    assert code(bad) == "INVALID_INPUT"


async def test_abusive_query_is_refused_before_it_runs(world: World) -> None:
    page = "devices(first: 200) { nodes { id vendor connectors { evseId status type } } }"
    query = "{ " + " ".join(f"a{i}: {page}" for i in range(8)) + " }"
    body = await gql(world, query, "admin")
    assert body.get("data") is None and code(body) == "QUERY_TOO_COSTLY"
    assert body["errors"][0]["extensions"]["maxCost"] == 5000


async def _ws(world: World, http: aiohttp.ClientSession,
              payload: dict[str, Any]) -> aiohttp.ClientWebSocketResponse:
    ws = await http.ws_connect(url(world), protocols=(WS,))
    await ws.send_json({"type": "connection_init", "payload": payload})
    return ws


async def _next(ws: aiohttp.ClientWebSocketResponse) -> dict[str, Any]:
    while True:
        msg: dict[str, Any] = await asyncio.wait_for(ws.receive_json(), 10)
        if msg["type"] != "ping":
            return msg


async def _until_next(ws: aiohttp.ClientWebSocketResponse,
                      act: Callable[[int], Awaitable[Any]]) -> tuple[int, dict[str, Any]]:
    """Call act(0), act(1), ... until the subscription answers; (last i, its message)."""
    for i in range(20):
        await act(i)
        try:
            return i, await asyncio.wait_for(_next(ws), 0.5)
        except TimeoutError:
            continue
    raise AssertionError("the subscription never answered")


async def test_subscription_receives_the_stations_status_notification(world: World) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await _ws(world, http, {"Authorization": f"Bearer {world.tokens['user']}"})
        assert (await _next(ws))["type"] == "connection_ack"
        await ws.send_json({"id": "s1", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { stationStatus(id: $id) { stationId evseId "
                     "connectorId status previous } }", "variables": {"id": world.station_id}}})
        # the subscription listens once its resolver has run: toggle until it sees a change
        sent, first = await _until_next(ws, lambda i: world.station.status(
            2, 1, ("Available", "Unavailable")[i % 2]))
        assert first["type"] == "next", first
        assert first["payload"]["data"]["stationStatus"] == {
            "stationId": world.station_id, "evseId": 2, "connectorId": 1,
            "status": ("Available", "Unavailable")[sent % 2],
            "previous": None if sent == 0 else ("Available", "Unavailable")[(sent - 1) % 2]}
        await world.station.status(2, 1, ("Available", "Unavailable")[(sent + 1) % 2])
        second = (await _next(ws))["payload"]["data"]["stationStatus"]
        assert (second["previous"], second["status"]) == (
            ("Available", "Unavailable")[sent % 2], ("Available", "Unavailable")[(sent + 1) % 2])
        await ws.send_json({"id": "s1", "type": "complete"})
        await ws.close()


async def test_subscription_needs_a_token_and_ownership(world: World) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await _ws(world, http, {})
        msg = await asyncio.wait_for(ws.receive(), 10)
        assert msg.type == aiohttp.WSMsgType.CLOSE and msg.data == 4403
        ws = await _ws(world, http, {"Authorization": f"Bearer {world.tokens['other']}"})
        assert (await _next(ws))["type"] == "connection_ack"
        await ws.send_json({"id": "t1", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { transactionUpdated(id: $id) { id } }",
            "variables": {"id": world.tx_id}}})
        answer = await _next(ws)
        assert answer["type"] in ("error", "next"), answer
        errors = answer["payload"] if answer["type"] == "error" else answer["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"
        await ws.close()


async def test_owner_follows_the_session_through_transaction_updated(world: World) -> None:
    async with aiohttp.ClientSession() as http:
        ws = await _ws(world, http, {"Authorization": f"Bearer {world.tokens['user']}"})
        assert (await _next(ws))["type"] == "connection_ack"
        await ws.send_json({"id": "t2", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { transactionUpdated(id: $id) { id status "
                     "energyWh } }", "variables": {"id": world.tx_id}}})
        _, got = await _until_next(ws, lambda _: world.station.update_transaction(1, add_wh=700))
        assert got["type"] == "next", got
        tx = got["payload"]["data"]["transactionUpdated"]
        assert tx["id"] == world.tx_id and tx["status"] == "Active" and tx["energyWh"] >= 700
        await ws.close()


@pytest.mark.parametrize("who", ["user", "other"])
async def test_v2g_start_and_grid_price_answer_like_rest(world: World, who: str) -> None:
    rest = await rest_status(world, "POST", "/api/v1/v2g/discharge/start", who,
                             {"chargePointId": world.station_id, "minSoc": 40})
    body = await gql(world, """mutation($id: String!) {
        startDischarge(chargePointId: $id, minSoc: 40) { id status } }""", who,
                     {"id": world.station_id})
    assert rest in (403, 409) and code(body) == {403: "FORBIDDEN", 409: "CONFLICT"}[rest]
    price = await rest_status(world, "GET", "/api/v1/v2g/grid-price?submarket=SE", who)
    got = await gql(world, '{ gridPrice(submarket: "SE") { priceCentavosPerKwh } }', who)
    assert code(got) == {200: None, 404: "NOT_FOUND"}[price]


async def test_reservation_made_listed_and_cancelled_by_its_holder_only(world: World) -> None:
    made = await gql(world, """mutation($id: String!) {
        reserve(chargePointId: $id, expiresInS: 600) { id status accepted } }""", "user",
                     {"id": world.station_id})
    assert code(made) is None, made
    reservation = made["data"]["reserve"]
    assert reservation["accepted"] is True
    mine = await gql(world, "{ reservations(first: 10) { id status } }", "user")
    assert reservation["id"] in {r["id"] for r in mine["data"]["reservations"]}
    theirs = await gql(world, "{ reservations(first: 10) { id } }", "other")
    assert theirs["data"]["reservations"] == []
    cancel = "mutation($id: ID!) { cancelReservation(id: $id) { status } }"
    assert code(await gql(world, cancel, "other", {"id": reservation["id"]})) == "NOT_FOUND"
    assert await rest_status(world, "DELETE", f"/api/v1/reservations/{reservation['id']}",
                             "other") == 404
    done = await gql(world, cancel, "user", {"id": reservation["id"]})
    assert done["data"]["cancelReservation"]["status"] == "Cancelled", done


async def test_a_logout_ends_the_subscription_at_its_next_event(world: World) -> None:
    token = await world.second_token("user")
    async with aiohttp.ClientSession() as http:
        ws = await _ws(world, http, {"Authorization": f"Bearer {token}"})
        assert (await _next(ws))["type"] == "connection_ack"
        await ws.send_json({"id": "s9", "type": "subscribe", "payload": {
            "query": "subscription($id: ID!) { stationStatus(id: $id) { status } }",
            "variables": {"id": world.station_id}}})
        sent, first = await _until_next(ws, lambda i: world.station.status(
            4, 1, ("Available", "Unavailable")[i % 2]))
        assert first["type"] == "next", first
        await world.logout(token)
        await world.station.status(4, 1, ("Available", "Unavailable")[(sent + 1) % 2])
        ended = await _next(ws)
        errors = ended["payload"] if ended["type"] == "error" else ended["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "UNAUTHENTICATED", ended
        await ws.close()


async def test_one_device_merged_with_the_live_view_and_an_unknown_one(world: World) -> None:
    query = "query($id: ID!) { device(id: $id) { id online serialNumber connectors { evseId } } }"
    body = await gql(world, query, "user", {"id": world.station_id})
    assert code(body) is None, body
    device = body["data"]["device"]
    assert device["id"] == world.station_id and device["online"] is True
    assert device["serialNumber"] and 1 in {c["evseId"] for c in device["connectors"]}
    assert code(await gql(world, query, "user", {"id": "NO-SUCH"})) == "NOT_FOUND"
    assert await rest_status(world, "GET", "/api/v1/devices/NO-SUCH", "user") == 404


async def test_a_command_sent_over_graphql_is_audited_with_the_clients_address(
        world: World) -> None:
    command = await gql(world, """mutation($id: String!) {
        sendCommand(chargePointId: $id, command: TRIGGER, body: {message: "Heartbeat"}) {
          status } }""", "operator", {"id": world.station_id})
    assert code(command) is None, command
    conn = await asyncpg.connect(world.server.env["DATABASE_URL"])
    try:
        rows = await conn.fetch(
            "SELECT host(ip) AS ip FROM audit_log WHERE action = 'command.TriggerMessage'"
            " AND target_id = $1", world.station_id)
    finally:
        await conn.close()
    assert rows and {r["ip"] for r in rows} == {"127.0.0.1"}
