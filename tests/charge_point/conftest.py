"""Fixtures for the charge point tests: a harness on a fake clock and payload builders."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from sigec_actors.testing.ocpp import ChargePointHarness

T0 = "2025-01-01T00:00:00Z"

BOOT = {"chargingStation": {"vendorName": "ACME", "model": "X1", "serialNumber": "S-1",
                            "firmwareVersion": "1.2.3"}, "reason": "PowerUp"}


def status(evse: int, connector: int, value: str) -> dict[str, Any]:
    return {"timestamp": T0, "connectorStatus": value, "evseId": evse, "connectorId": connector}


def tx_event(tx_id: str, seq_no: int, event_type: str = "Updated", **extra: Any) -> dict[str, Any]:
    return {"eventType": event_type, "timestamp": T0, "triggerReason": "MeterValuePeriodic",
            "seqNo": seq_no, "transactionInfo": {"transactionId": tx_id},
            "evse": {"id": 1, "connectorId": 1}, **extra}


@pytest.fixture
async def harness() -> AsyncIterator[ChargePointHarness]:
    async with ChargePointHarness() as h:
        yield h
