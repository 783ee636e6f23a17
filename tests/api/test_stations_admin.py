"""Station administration: registration with credentials, listing, password rotation (OCPP A09)."""

from __future__ import annotations

from typing import Any

import pytest

from sigec_actors.ocpp.generated import v201
from tests.api.harness import PASSWORDS, Api

URL = "/api/v1/admin/stations"


async def _verify(api: Api, station_id: str, password: str) -> bool:
    stations = api.ctx.stations
    assert stations is not None
    creds = await stations.credentials(station_id)
    assert creds is not None and creds.password_hash is not None
    return await PASSWORDS.verify(creds.password_hash, password)


async def test_register_with_generated_password_shown_once(api: Api) -> None:
    body = await api.json("POST", URL, "admin", status=201, json={
        "id": "CP-NEW", "securityProfile": 1, "vendor": "ACME", "model": "X9",
        "location": {"name": "Praça", "latitude": -3.7, "longitude": -38.5, "city": "Fortaleza"}})
    assert body["station"]["id"] == "CP-NEW" and body["station"]["securityProfile"] == 1
    assert body["station"]["locationId"] and len(body["password"]) >= 16
    assert await _verify(api, "CP-NEW", body["password"])
    listed = await api.json("GET", f"{URL}?limit=200", "admin")
    assert "password" not in str(listed).lower().replace("securityprofile", "")
    near = await api.json("GET", "/api/v1/devices/nearby?lat=-3.7&lng=-38.5&radiusKm=1", "user")
    assert [i["device"]["id"] for i in near["items"]] == ["CP-NEW"]
    assert api.audit.records[-1].entry.action == "station.register"


async def test_register_with_given_password_does_not_echo_it(api: Api) -> None:
    body = await api.json("POST", URL, "admin", status=201, json={
        "id": "CP-PW", "securityProfile": 2, "password": "S3cret-password-1234"})
    assert body.get("password") is None
    assert await _verify(api, "CP-PW", "S3cret-password-1234")


async def test_profile_3_has_no_password(api: Api) -> None:
    body = await api.json("POST", URL, "admin", status=201,
                          json={"id": "CP-TLS", "securityProfile": 3})
    assert body.get("password") is None
    problem = await api.json("POST", URL, "admin", status=422, json={
        "id": "CP-TLS2", "securityProfile": 3, "password": "S3cret-password-1234"})
    assert problem["field"] == "password"


@pytest.mark.parametrize(("body", "field"), [
    ({"id": "CP:1", "securityProfile": 1}, "id"),
    ({"id": "x" * 49, "securityProfile": 1}, "id"),
    ({"id": "CP-9", "securityProfile": 4}, "securityProfile"),
    ({"id": "CP-9", "securityProfile": 1, "password": "short"}, "password"),
    ({"id": "CP-9", "securityProfile": 1, "passwordHash": "$argon2id$..."}, "passwordHash"),
    ({"id": "CP-9", "securityProfile": 1, "online": True}, "online"),
    ({"id": "CP-9", "securityProfile": 1, "location": {"name": "x", "latitude": 91,
                                                       "longitude": 0}}, "location.latitude"),
    ({"securityProfile": 1}, "id"),
])
async def test_register_validation(api: Api, body: dict[str, Any], field: str) -> None:
    problem = await api.json("POST", URL, "admin", json=body, status=422)
    assert problem["field"] == field


async def test_register_duplicate_is_409(api: Api) -> None:
    await api.json("POST", URL, "admin", json={"id": "CP-1", "securityProfile": 1}, status=409)


async def test_list_is_paged(api: Api) -> None:
    page = await api.json("GET", f"{URL}?limit=3", "admin")
    assert page["total"] == 4 and [s["id"] for s in page["items"]] == ["CP-1", "CP-2", "CP-3"]
    await api.json("GET", f"{URL}?limit=500", "admin", status=422)


async def test_password_change_is_pushed_to_a_connected_station(api: Api) -> None:
    body = await api.json("PUT", f"{URL}/CP-1/password", "admin",
                          json={"password": "New-password-123456"})
    assert body["pushed"] is True and body.get("password") is None
    assert body["stationAnswer"]["setVariableResult"][0]["attributeStatus"] == "Accepted"
    [(station, request)] = api.commander.sent
    assert station == "CP-1" and isinstance(request, v201.SetVariablesRequest)
    [data] = request.set_variable_data
    assert (data.component.name, data.variable.name, data.attribute_value) == (
        "SecurityCtrlr", "BasicAuthPassword", "New-password-123456")
    assert await _verify(api, "CP-1", "New-password-123456")
    assert api.audit.records[-1].entry.action == "station.password"


async def test_password_change_for_an_offline_station_is_stored(api: Api) -> None:
    body = await api.json("PUT", f"{URL}/CP-2/password", "admin")
    assert body["pushed"] is False and len(body["password"]) >= 16
    assert await _verify(api, "CP-2", body["password"])


async def test_rejected_push_changes_nothing(api: Api) -> None:
    def rejected(req: Any) -> v201.SetVariablesResponse:
        return v201.SetVariablesResponse(set_variable_result=tuple(
            v201.SetVariableResult(attribute_status=v201.SetVariableStatusEnum.REJECTED,
                                   component=d.component, variable=d.variable)
            for d in req.set_variable_data))

    api.commander.answers[v201.SetVariablesRequest] = rejected
    await api.json("PUT", f"{URL}/CP-1/password", "admin",
                   json={"password": "New-password-123456"}, status=409)
    assert not await _verify(api, "CP-1", "New-password-123456")


async def test_password_change_errors(api: Api) -> None:
    await api.json("PUT", f"{URL}/NOPE/password", "admin", status=404)
    await api.json("PUT", f"{URL}/CP-4/password", "admin", status=409)  # profile 3
    problem = await api.json("PUT", f"{URL}/CP-1/password", "admin",
                             json={"password": "has space in it!!"}, status=422)
    assert problem["field"] == "password"
