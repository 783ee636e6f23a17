"""Values the schemas accept but the spec's types or storage refuse: NUL, >32-bit, negatives."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigec_actors.ocpp.errors import ErrorCode
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp.value_rules import INT32_MAX, INT32_MIN, refusal

T0 = "2025-01-01T00:00:00Z"
BOOT = {"chargingStation": {"vendorName": "ACME", "model": "X1", "serialNumber": "S-1",
                            "firmwareVersion": "1.2.3", "modem": {"iccid": "1", "imsi": "2"}},
        "reason": "PowerUp"}


def tx(**extra: Any) -> dict[str, Any]:
    return {"eventType": "Updated", "timestamp": T0, "triggerReason": "MeterValuePeriodic",
            "seqNo": 1, "transactionInfo": {"transactionId": "T-1"},
            "evse": {"id": 1, "connectorId": 1}, **extra}


def meter(value: float, measurand: str | None = None) -> list[dict[str, Any]]:
    sample: dict[str, Any] = {"value": value}
    if measurand:
        sample["measurand"] = measurand
    return [{"timestamp": T0, "sampledValue": [{"value": 1.0}, sample]}]


def path_of(model: type[msgspec.Struct], payload: dict[str, Any]) -> str | None:
    found = refusal(msgspec.convert(payload, model))
    if found is None:
        return None
    assert found.code is ErrorCode.PROPERTY_CONSTRAINT_VIOLATION
    return found.path


def test_valid_payloads_pass() -> None:
    assert path_of(m.TransactionEventRequest, tx(meterValue=meter(-5.0, "Power.Active.Import"),
                                               reservationId=INT32_MAX, seqNo=0)) is None
    assert path_of(m.BootNotificationRequest, BOOT) is None
    assert path_of(m.StatusNotificationRequest, {"timestamp": T0, "connectorStatus": "Available",
                                                 "evseId": 0, "connectorId": 0}) is None
    assert path_of(m.NotifyEventRequest, {"generatedAt": T0, "seqNo": 0, "eventData": [{
        "eventId": INT32_MIN, "timestamp": T0, "trigger": "Alerting", "actualValue": "x",
        "eventNotificationType": "HardWiredMonitor", "component": {"name": "C"},
        "variable": {"name": "V"}}]}) is None


@pytest.mark.parametrize(("model", "payload", "path"), [
    (m.TransactionEventRequest, tx(seqNo=-1), "$.seqNo"),
    (m.TransactionEventRequest, tx(seqNo=2**31), "$.seqNo"),
    (m.TransactionEventRequest, tx(evse={"id": 2**31}), "$.evse.id"),
    (m.TransactionEventRequest, tx(evse={"id": 0}), "$.evse.id"),
    (m.TransactionEventRequest, tx(evse={"id": 1, "connectorId": 0}), "$.evse.connectorId"),
    (m.TransactionEventRequest, tx(transactionInfo={"transactionId": ""}),
     "$.transactionInfo.transactionId"),
    (m.TransactionEventRequest, tx(transactionInfo={"transactionId": "T\x00"}),
     "$.transactionInfo.transactionId"),
    (m.TransactionEventRequest, tx(idToken={"idToken": "A\x00B", "type": "ISO14443"}),
     "$.idToken.idToken"),
    (m.TransactionEventRequest, tx(reservationId=INT32_MIN - 1), "$.reservationId"),
    (m.TransactionEventRequest, tx(meterValue=meter(-0.5)), "$.meterValue[0].sampledValue[1].value"),
    (m.TransactionEventRequest, tx(meterValue=meter(-1.0, "Energy.Active.Export.Register")),
     "$.meterValue[0].sampledValue[1].value"),
    (m.MeterValuesRequest, {"evseId": 1, "meterValue": meter(-1.0)},
     "$.meterValue[0].sampledValue[1].value"),
    (m.StatusNotificationRequest, {"timestamp": T0, "connectorStatus": "Available",
                                   "evseId": 2**40, "connectorId": 1}, "$.evseId"),
    (m.BootNotificationRequest, {**BOOT, "chargingStation": {
        **BOOT["chargingStation"], "modem": {"iccid": "\x00"}}}, "$.chargingStation.modem.iccid"),
    (m.SecurityEventNotificationRequest, {"type": "X", "timestamp": T0, "techInfo": "a\x00"},
     "$.techInfo"),
    (m.DataTransferRequest, {"vendorId": "V", "data": {"k": ["ok", {"\x00": 1}]}}, "$.data.k[1].\x00"),
])
def test_refused_values_name_their_path(model: type[msgspec.Struct], payload: dict[str, Any],
                                        path: str) -> None:
    assert path_of(model, payload) == path


def test_untyped_data_is_not_held_to_32_bits() -> None:
    assert path_of(m.DataTransferRequest, {"vendorId": "V", "data": [2**40, {"n": -2**60}]}) is None


@settings(max_examples=50)
@given(st.sampled_from(["vendorName", "model", "serialNumber", "firmwareVersion"]),
       st.text(max_size=10), st.text(max_size=10))
def test_nul_anywhere_in_a_string_is_refused(field: str, before: str, after: str) -> None:
    station = {**BOOT["chargingStation"], field: (before + "\x00" + after)[:20]}
    assert path_of(m.BootNotificationRequest, {**BOOT, "chargingStation": station}) == (
        f"$.chargingStation.{field}")


@settings(max_examples=50)
@given(st.integers(-(2**63), 2**64 - 1))
def test_integers_are_held_to_32_bits(n: int) -> None:
    found = path_of(m.TransactionEventRequest, tx(seqNo=1, cableMaxCurrent=n))
    assert (found is None) == (INT32_MIN <= n <= INT32_MAX)
