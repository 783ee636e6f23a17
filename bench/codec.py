"""Codec micro-benchmark: our msgspec path vs the `ocpp` library's, per inbound CALL."""

from __future__ import annotations

import datetime
import functools
import json
import platform
import statistics
import sys
import timeit
from collections.abc import Callable
from typing import Any

import msgspec
import ocpp
from ocpp.charge_point import (
    camel_to_snake_case,
    remove_nones,
    serialize_as_dict,
    snake_to_camel_case,
)
from ocpp.messages import _validate_payload, unpack
from ocpp.v201 import call as lib_call
from ocpp.v201 import call_result as lib_result

from sigec_actors.ocpp.generated import v201
from sigec_actors.ocpp.rpc import Call, encode_call_result, parse_frame

NOW = "2024-05-01T12:00:00Z"
ID_TOKEN = {"idToken": "04E8960A1A3180", "type": "ISO14443"}
SAMPLE = {"timestamp": NOW, "sampledValue": [
    {"value": 1234.5, "measurand": "Energy.Active.Import.Register",
     "unitOfMeasure": {"unit": "Wh"}},
    {"value": 7.2, "measurand": "Power.Active.Import", "phase": "L1"},
    {"value": 16.0, "measurand": "Current.Import", "phase": "L1"},
]}
REQUESTS: dict[str, dict[str, Any]] = {
    "BootNotification": {"reason": "PowerUp", "chargingStation": {
        "model": "SIGEC-22", "vendorName": "SIGEC", "serialNumber": "SN-0001",
        "firmwareVersion": "1.2.3", "modem": {"iccid": "8955000000000000001"}}},
    "Heartbeat": {},
    "StatusNotification": {"timestamp": NOW, "connectorStatus": "Occupied", "evseId": 1,
                           "connectorId": 1},
    "TransactionEvent": {
        "eventType": "Updated", "timestamp": NOW, "triggerReason": "MeterValuePeriodic",
        "seqNo": 7, "transactionInfo": {"transactionId": "tx-0001", "chargingState": "Charging"},
        "evse": {"id": 1, "connectorId": 1}, "idToken": ID_TOKEN, "meterValue": [SAMPLE]},
    "MeterValues": {"evseId": 1, "meterValue": [SAMPLE, SAMPLE]},
}
NOW_DT = datetime.datetime(2024, 5, 1, 12, tzinfo=datetime.UTC)
OURS: dict[str, msgspec.Struct] = {
    "BootNotification": v201.BootNotificationResponse(
        current_time=NOW_DT, interval=300, status=v201.RegistrationStatusEnum.ACCEPTED),
    "Heartbeat": v201.HeartbeatResponse(current_time=NOW_DT),
    "StatusNotification": v201.StatusNotificationResponse(),
    "TransactionEvent": v201.TransactionEventResponse(),
    "MeterValues": v201.MeterValuesResponse(),
}
THEIRS: dict[str, Any] = {
    "BootNotification": lib_result.BootNotification(current_time=NOW, interval=300,
                                                    status="Accepted"),
    "Heartbeat": lib_result.Heartbeat(current_time=NOW),
    "StatusNotification": lib_result.StatusNotification(),
    "TransactionEvent": lib_result.TransactionEvent(),
    "MeterValues": lib_result.MeterValues(),
}


def ours(frame: bytes, response: msgspec.Struct) -> bytes:
    """Parse + validate + typed decode, then encode the CALLRESULT."""
    message = parse_frame(frame)
    assert isinstance(message, Call)
    return encode_call_result(message.message_id, response)


def library(frame: bytes, action: str, response: Any) -> str:
    """What ocpp's ChargePoint.route_message/_handle_call does, minus the websocket."""
    message = unpack(frame.decode())
    _validate_payload(message, "2.0.1")
    request = getattr(lib_call, action)(**camel_to_snake_case(message.payload))
    assert request is not None
    payload = snake_to_camel_case(remove_nones(serialize_as_dict(response)))
    result = message.create_call_result(payload)
    _validate_payload(result, "2.0.1")
    return str(result.to_json())


def per_call_us(fn: Callable[[], object], repeat: int = 7) -> float:
    """Median microseconds per call over `repeat` timed batches (noisy shared machine)."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    return statistics.median(t / number * 1e6 for t in timer.repeat(repeat, number))


def run() -> dict[str, Any]:
    """Time every action both ways; returns the JSON-able result."""
    rows = []
    for action, payload in REQUESTS.items():
        frame = json.dumps([2, "bench-1", action, payload]).encode()
        ours_us = per_call_us(functools.partial(ours, frame, OURS[action]))
        lib_us = per_call_us(functools.partial(library, frame, action, THEIRS[action]))
        rows.append({"action": action, "frame_bytes": len(frame), "ours_us": round(ours_us, 2),
                     "ocpp_lib_us": round(lib_us, 1), "speedup": round(lib_us / ours_us, 1)})
    return {"benchmark": "codec", "python": platform.python_version(),
            "msgspec": msgspec.__version__, "ocpp": ocpp.__version__ if hasattr(ocpp, "__version__")
            else "unknown", "unit": "microseconds per CALL (decode+validate+encode reply), median",
            "results": rows}


def markdown(result: dict[str, Any]) -> str:
    """The results as a markdown table."""
    lines = ["| action | frame bytes | ours (µs) | ocpp lib (µs) | lib / ours |",
             "|---|---:|---:|---:|---:|"]
    lines += [f"| {r['action']} | {r['frame_bytes']} | {r['ours_us']} | {r['ocpp_lib_us']} | "
              f"{r['speedup']}x |" for r in result["results"]]
    return "\n".join(lines)


def main() -> int:
    """Print JSON, then the markdown table."""
    result = run()
    print(json.dumps(result, indent=2))
    print()
    print(markdown(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
