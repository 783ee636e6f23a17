"""OCPP-J 2.0.1 frames the simulated stations send, pre-encoded with msgspec where constant."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

_encode = msgspec.json.encode
_decode = msgspec.json.decode

CALL, CALLRESULT, CALLERROR = 2, 3, 4
_BYTE_CALL, _BYTE_RESULT, _BYTE_ERROR = ord("2"), ord("3"), ord("4")

BOOT = {"reason": "PowerUp",
        "chargingStation": {"model": "BenchModel", "vendorName": "SIGEC-Bench",
                            "firmwareVersion": "1.0"}}

# Answers a station gives to the CSMS CALLs the bench expects (commands scenario).
_STATION_ANSWERS: dict[str, dict[str, Any]] = {
    "Reset": {"status": "Accepted"},
    "TriggerMessage": {"status": "Accepted"},
    "ChangeAvailability": {"status": "Accepted"},
    "UnlockConnector": {"status": "Unlocked"},
    "RequestStartTransaction": {"status": "Accepted"},
    "RequestStopTransaction": {"status": "Accepted"},
    "SetChargingProfile": {"status": "Accepted"},
    "ClearChargingProfile": {"status": "Accepted"},
    "SetVariables": {"setVariableResult": []},
}


def now_iso() -> str:
    """UTC now as OCPP wants it (RFC 3339 with Z)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Frames:
    """Per-process frame factory: constant payloads are encoded once, only the id varies."""

    def __init__(self) -> None:
        stamp = now_iso()
        self._tail: dict[str, bytes] = {
            "BootNotification": b'","BootNotification",' + _encode(BOOT) + b"]",
            "Heartbeat": b'","Heartbeat",{}]',
            "StatusNotification": b'","StatusNotification",' + _encode(
                {"timestamp": stamp, "connectorStatus": "Available", "evseId": 1,
                 "connectorId": 1}) + b"]",
        }

    def call(self, uid: bytes, action: str) -> bytes:
        """A pre-encoded CALL for a constant-payload action."""
        return b'[2,"' + uid + self._tail[action]

    def tail(self, action: str) -> bytes:
        """What follows the message id in a constant-payload CALL (`","Heartbeat",{}]`)."""
        return self._tail[action]

    @staticmethod
    def call_with(uid: bytes, action: str, payload: dict[str, Any]) -> bytes:
        """A CALL whose payload varies (transactions, meter values)."""
        return b'[2,"' + uid + b'","' + action.encode() + b'",' + _encode(payload) + b"]"


def transaction_event(kind: str, tx_id: str, seq: int, energy_wh: float) -> dict[str, Any]:
    """TransactionEvent Started/Updated/Ended with one energy meter value."""
    stamp = now_iso()
    trigger = {"Started": "Authorized", "Updated": "MeterValuePeriodic",
               "Ended": "StopAuthorized"}[kind]
    info: dict[str, Any] = {"transactionId": tx_id}
    if kind == "Ended":
        info["stoppedReason"] = "Local"
    payload: dict[str, Any] = {
        "eventType": kind, "timestamp": stamp, "triggerReason": trigger, "seqNo": seq,
        "transactionInfo": info,
        "meterValue": [meter_value(stamp, energy_wh)],
    }
    if kind == "Started":
        payload["evse"] = {"id": 1, "connectorId": 1}
        payload["idToken"] = {"idToken": "BENCH0001", "type": "ISO14443"}
    return payload


def meter_value(stamp: str, energy_wh: float) -> dict[str, Any]:
    return {"timestamp": stamp, "sampledValue": [
        {"value": round(energy_wh, 1), "measurand": "Energy.Active.Import.Register"}]}


def meter_values(energy_wh: float) -> dict[str, Any]:
    """MeterValues for EVSE 1."""
    return {"evseId": 1, "meterValue": [meter_value(now_iso(), energy_wh)]}


def kind_of(frame: bytes) -> int:
    """The message type of a raw OCPP-J frame (2, 3 or 4), 0 if it does not look like one."""
    if len(frame) < 3 or frame[0] != ord("["):
        return 0
    first = frame[1]
    if first == ord(" "):
        first = frame.lstrip(b"[ ")[0]
    if first in (_BYTE_CALL, _BYTE_RESULT, _BYTE_ERROR):
        return first - ord("0")
    return 0


def answers(reply: bytes, uid: bytes) -> bool:
    """Is `reply` the CALLRESULT or CALLERROR of the CALL `uid`? A byte-prefix test on compact
    JSON, a full decode only when the server wrote it otherwise (spaces, escapes)."""
    if reply.startswith(b'[3,"' + uid + b'"') or reply.startswith(b'[4,"' + uid + b'"'):
        return True
    try:
        msg = decode(reply)
    except (msgspec.DecodeError, ValueError):
        return False
    return len(msg) > 1 and msg[0] in (CALLRESULT, CALLERROR) and msg[1] == uid.decode()


def decode(frame: bytes) -> list[Any]:
    """Full decode (only for CALLERRORs and CSMS CALLs, which are rare)."""
    value = _decode(frame)
    if not isinstance(value, list):
        raise ValueError("not an OCPP-J array")
    return value


def answer_csms_call(frame: bytes) -> tuple[str, bytes]:
    """(action, reply frame) for a CALL the CSMS sent: Accepted, or NotImplemented."""
    msg = decode(frame)
    uid, action = str(msg[1]), str(msg[2])
    answer = _STATION_ANSWERS.get(action)
    if answer is None:
        return action, _encode([CALLERROR, uid, "NotImplemented", f"bench: {action}", {}])
    return action, _encode([CALLRESULT, uid, answer])
