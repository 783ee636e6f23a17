"""Remote commands: REST bodies become typed OCPP requests; station outcomes map to HTTP."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from api.commands import CommandBusy, CommandNotAllowed, CommandRejected, CommandTimeout
from sigec_actors.ocpp.generated import v201
from tests.api.harness import Api

BASE = "/api/v1/devices/CP-1"
PROFILE = {"id": 7, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
           "chargingProfileKind": "Absolute", "chargingSchedule": [{
               "id": 1, "chargingRateUnit": "W", "startSchedule": "2026-01-01T00:00:00Z",
               "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400.0}]}]}

# (method, path, body or query, expected request, expected answer)
CASES: list[tuple[str, str, dict[str, Any] | None, Any, dict[str, Any]]] = [
    ("POST", "/remote-start", {"idToken": "TAG1", "evseId": 1, "remoteStartId": 42},
     v201.RequestStartTransactionRequest(
         id_token=v201.IdToken(id_token="TAG1", type=v201.IdTokenEnum.CENTRAL),
         remote_start_id=42, evse_id=1), {"status": "Accepted"}),
    ("POST", "/remote-stop", {"transactionId": "tx-1"},
     v201.RequestStopTransactionRequest(transaction_id="tx-1"), {"status": "Accepted"}),
    ("POST", "/reset", {"type": "Immediate"},
     v201.ResetRequest(type=v201.ResetEnum.IMMEDIATE), {"status": "Accepted"}),
    ("POST", "/reset", None, v201.ResetRequest(type=v201.ResetEnum.ON_IDLE),
     {"status": "Accepted"}),
    ("POST", "/trigger/StatusNotification", {"evseId": 1, "connectorId": 1},
     v201.TriggerMessageRequest(
         requested_message=v201.MessageTriggerEnum.STATUS_NOTIFICATION,
         evse=v201.EVSE(id=1, connector_id=1)), {"status": "Accepted"}),
    ("POST", "/unlock/2", {"evseId": 1},
     v201.UnlockConnectorRequest(evse_id=1, connector_id=2), {"status": "Unlocked"}),
    ("POST", "/availability", {"operationalStatus": "Inoperative", "evseId": 1},
     v201.ChangeAvailabilityRequest(
         operational_status=v201.OperationalStatusEnum.INOPERATIVE, evse=v201.EVSE(id=1)),
     {"status": "Accepted"}),
    ("POST", "/charging-profile", {"evseId": 1, "chargingProfile": PROFILE},
     v201.SetChargingProfileRequest(evse_id=1, charging_profile=msgspec.convert(
         PROFILE, v201.ChargingProfile)), {"status": "Accepted"}),
    ("DELETE", "/charging-profile?chargingProfileId=7", None,
     v201.ClearChargingProfileRequest(charging_profile_id=7), {"status": "Accepted"}),
    ("DELETE", "/charging-profile?evseId=1&purpose=TxProfile", None,
     v201.ClearChargingProfileRequest(charging_profile_criteria=v201.ClearChargingProfile(
         evse_id=1, charging_profile_purpose=v201.ChargingProfilePurposeEnum.TX_PROFILE)),
     {"status": "Accepted"}),
]


@pytest.mark.parametrize(("method", "path", "body", "request_", "answer"), CASES,
                         ids=[f"{c[0]} {c[1]}" for c in CASES])
async def test_command_sends_the_typed_request(api: Api, method: str, path: str,
                                               body: dict[str, Any] | None, request_: Any,
                                               answer: dict[str, Any]) -> None:
    kwargs = {} if body is None else {"json": body}
    assert await api.json(method, BASE + path, "operator", **kwargs) == answer
    assert api.commander.sent == [("CP-1", request_)]


async def test_generated_request_ids_come_from_the_injected_counter(api: Api) -> None:
    await api.json("POST", f"{BASE}/remote-start", "operator", json={"idToken": "TAG1"})
    await api.json("POST", f"{BASE}/remote-start", "operator", json={"idToken": "TAG2"})
    first, second = (r for _, r in api.commander.sent)
    assert isinstance(first, v201.RequestStartTransactionRequest)
    assert isinstance(second, v201.RequestStartTransactionRequest)
    assert second.remote_start_id == first.remote_start_id + 1


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/remote-start", {}, "idToken"),
    ("/remote-start", {"idToken": "x" * 37}, "idToken"),
    ("/remote-start", {"idToken": "T", "evseId": "one"}, "evseId"),
    ("/remote-start", {"idToken": "T", "chargingProfile": {"id": 1}},
     "chargingProfile.stackLevel"),
    ("/remote-stop", {"transactionId": "t", "force": True}, "force"),
    ("/reset", {"type": "Hard"}, "type"),
    ("/availability", {"operationalStatus": "Sideways"}, "operationalStatus"),
    ("/availability", {"operationalStatus": "Operative", "connectorId": 1}, "connectorId"),
    ("/trigger/Coffee", {}, "message"),
    ("/unlock/zero", {}, "connector"),
    ("/unlock/0", {}, "connector"),
    ("/unlock/\u00b2", {}, "connector"),
    ("/unlock/99999999999999999999999", {}, "connector"),
    ("/trigger/Heartbeat", {"connectorId": 1}, "connectorId"),
    ("/charging-profile", {"evseId": 1}, "chargingProfile"),
])
async def test_invalid_command_bodies_are_422_naming_the_field(
        api: Api, path: str, body: dict[str, Any], field: str) -> None:
    problem = await api.json("POST", BASE + path, "operator", json=body, status=422)
    assert problem["field"] == field
    assert api.commander.sent == []


async def test_clear_profile_rejects_bad_query(api: Api) -> None:
    problem = await api.json("DELETE", f"{BASE}/charging-profile?evseId=x", "operator",
                             status=422)
    assert problem["field"] == "evseId" and problem["where"] == "query"
    problem = await api.json("DELETE", f"{BASE}/charging-profile?bogus=1", "operator",
                             status=422)
    assert problem["field"] == "bogus"


async def test_offline_station_is_409(api: Api) -> None:
    problem = await api.json("POST", "/api/v1/devices/CP-2/reset", "operator", status=409)
    assert problem["stationId"] == "CP-2"


async def test_unknown_station_is_404_and_nothing_is_sent(api: Api) -> None:
    api.commander.online.add("GHOST")
    await api.json("POST", "/api/v1/devices/GHOST/reset", "operator", status=404)
    assert api.commander.sent == []


@pytest.mark.parametrize(("error", "status", "header"), [
    (CommandTimeout("CP-1", 30.0), 504, None),
    (CommandBusy("CP-1", retry_after_s=7), 503, "7"),
    (CommandRejected("CP-1", "NotImplemented", "no"), 502, None),
    (CommandNotAllowed("CP-1", "booting"), 409, None),
])
async def test_station_outcomes_map_to_http(api: Api, error: Exception, status: int,
                                            header: str | None) -> None:
    api.commander.fail_next["CP-1"] = error  # type: ignore[assignment]
    resp = await api.call("POST", f"{BASE}/reset", "operator", json={})
    body = await resp.json(content_type=None)
    assert resp.status == status and resp.content_type == "application/problem+json"
    assert resp.headers.get("Retry-After") == header
    assert body["stationId"] == "CP-1"


async def test_station_rejection_is_returned_as_its_answer(api: Api) -> None:
    api.commander.answers[v201.ResetRequest] = lambda _: v201.ResetResponse(
        status=v201.ResetStatusEnum.REJECTED,
        status_info=v201.StatusInfo(reason_code="Busy"))
    body = await api.json("POST", f"{BASE}/reset", "operator", json={})
    assert body == {"status": "Rejected", "statusInfo": {"reasonCode": "Busy"}}


async def test_unexpected_failure_is_a_bare_500(api: Api) -> None:
    def boom(_: msgspec.Struct) -> msgspec.Struct:
        raise RuntimeError("SELECT secret FROM users; Traceback")

    api.commander.answers[v201.ResetRequest] = boom
    resp = await api.call("POST", f"{BASE}/reset", "operator", json={})
    text = await resp.text()
    assert resp.status == 500 and resp.content_type == "application/problem+json"
    assert "SELECT" not in text and "Traceback" not in text


async def test_users_cannot_send_commands(api: Api) -> None:
    await api.json("POST", f"{BASE}/reset", "user", json={}, status=403)
    assert api.commander.sent == []
