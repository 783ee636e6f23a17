"""The OCPP block routes in process (fake commander): bodies, validation, roles, what is sent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp_blocks.records import ListToken, MeterSample
from sigec_actors.ocpp_blocks.wiring import EXTRAS_KEY, OcppBlocks
from sigec_actors.testing.ocpp_blocks import InMemoryBlocks
from tests.api.harness import Api, start_api

DEV = "/api/v1/devices/CP-1"


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    store = InMemoryBlocks([ListToken("CARD-1", "ISO14443", "Accepted")])
    app = await start_api(extras={EXTRAS_KEY: OcppBlocks(store)})
    yield app
    await app.close()


def sent(api: Api) -> list[object]:
    return [request for _, request in api.commander.sent]


async def test_local_list_from_the_database_and_its_version(api: Api) -> None:
    answer = await api.json("POST", f"{DEV}/local-list", "operator")
    assert answer == {"status": "Accepted", "versionNumber": 1, "updateType": "Full",
                      "entries": 1, "size": 1}
    [request] = sent(api)
    assert isinstance(request, m.SendLocalListRequest)
    assert request.local_authorization_list is not None
    assert request.local_authorization_list[0].id_token.id_token == "CARD-1"
    body = {"updateType": "Differential",
            "tokens": [{"idToken": {"idToken": "CARD-1", "type": "ISO14443"}}]}  # removal
    again = await api.json("POST", f"{DEV}/local-list", "operator", json=body)
    assert (again["versionNumber"], again["size"]) == (2, 0)
    version = await api.json("GET", f"{DEV}/local-list", "operator")
    assert version["storedVersion"] == 2 and version["updateType"] == "Differential"
    bad = await api.json("POST", f"{DEV}/local-list", "operator", status=422,
                         json={"updateType": "Sometimes"})
    assert bad["field"] == "updateType"
    await api.json("POST", f"{DEV}/local-list", "user", status=403)
    await api.json("POST", "/api/v1/devices/NOPE/local-list", "operator", status=404)


async def test_display_message_routes(api: Api) -> None:
    body = {"id": 7, "priority": "InFront",
            "message": {"format": "UTF8", "content": "R$ 1,50/kWh", "language": "pt"}}
    assert await api.json("POST", f"{DEV}/display-messages", "operator", json=body) == {
        "id": 7, "status": "Accepted"}
    cached = await api.json("GET", f"{DEV}/display-messages?cached=true", "operator")
    assert [d["id"] for d in cached["messages"]] == [7]
    assert cached["messages"][0]["message"]["message"]["content"] == "R$ 1,50/kWh"
    asked = await api.json("GET", f"{DEV}/display-messages?waitS=0", "operator")
    assert (asked["status"], asked["messages"]) == ("Unknown", [])  # the station shows none
    await api.json("POST", f"{DEV}/display-messages", "operator", status=422,
                   json={"message": {"format": "UTF8"}})
    cleared = await api.json("DELETE", f"{DEV}/display-messages/7", "operator")
    assert cleared == {"status": "Accepted"}
    await api.json("DELETE", f"{DEV}/display-messages/x", "operator", status=422)


async def test_data_transfer_and_network_profile_are_sent_as_given(api: Api) -> None:
    answer = await api.json("POST", f"{DEV}/data-transfer", "operator",
                            json={"vendorId": "com.acme", "messageId": "ping", "data": [1]})
    assert answer == {"status": "UnknownVendorId"}
    profile = {"configurationSlot": 1, "connectionData": {
        "ocppVersion": "OCPP20", "ocppTransport": "JSON", "ocppCsmsUrl": "wss://csms/ocpp",
        "messageTimeout": 30, "securityProfile": 2, "ocppInterface": "Wired0"}}
    assert (await api.json("POST", f"{DEV}/network-profile", "operator",
                           json=profile))["status"] == "Accepted"
    transfer, network = sent(api)
    assert transfer == m.DataTransferRequest(vendor_id="com.acme", message_id="ping", data=[1])
    assert isinstance(network, m.SetNetworkProfileRequest)
    assert network.connection_data.security_profile == 2


async def test_any_action_checks_the_payload_against_the_schema(api: Api) -> None:
    assert await api.json("POST", f"{DEV}/ocpp/ClearCache", "admin") == {"status": "Accepted"}
    bad = await api.json("POST", f"{DEV}/ocpp/SendLocalList", "admin", status=422,
                         json={"versionNumber": 1, "updateType": "Never"})
    assert bad["field"] == "updateType" and "PropertyConstraintViolation" in bad["detail"]
    extra = await api.json("POST", f"{DEV}/ocpp/ClearCache", "admin", status=422,
                           json={"surprise": 1})
    assert "ProtocolError" in extra["detail"]
    await api.json("POST", f"{DEV}/ocpp/ClearCache", "admin", status=422, json={"a": None})
    await api.json("POST", f"{DEV}/ocpp/Heartbeat", "admin", status=422)  # station -> CSMS
    await api.json("POST", f"{DEV}/ocpp/ClearCache", "operator", status=403)
    await api.json("POST", "/api/v1/devices/NOPE/ocpp/ClearCache", "admin", status=404)
    assert sent(api) == [m.ClearCacheRequest()]


async def test_meter_values_by_window_and_measurand(api: Api) -> None:
    store = api.ctx.extras[EXTRAS_KEY].store
    now = datetime.now(UTC).replace(microsecond=0)
    await store.add_samples("CP-1", [
        MeterSample(evse_id=0, sampled_at=now - timedelta(hours=h), measurand=kind, value=v)
        for h, kind, v in ((1, "Voltage", 230.0), (2, "Energy.Active.Import.Register", 5.0),
                           (48, "Voltage", 229.0))])
    day = await api.json("GET", f"{DEV}/meter-values", "operator")
    assert [i["value"] for i in day["items"]] == [5.0, 230.0]
    since = (now - timedelta(days=3)).isoformat().replace("+00:00", "Z")
    volts = await api.json("GET", f"{DEV}/meter-values?measurand=Voltage&from={since}",
                           "operator")
    assert [i["value"] for i in volts["items"]] == [229.0, 230.0]
    assert volts["items"][0]["evseId"] == 0 and "sampledAt" in volts["items"][0]
    await api.json("GET", f"{DEV}/meter-values?measurand=Bogus", "operator", status=422)
    await api.json("GET", f"{DEV}/meter-values?from=yesterday", "operator", status=422)
