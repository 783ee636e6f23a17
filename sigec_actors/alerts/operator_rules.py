"""Pure operator alert rules (issue 20): each cause opens one alert through its dedupe key.

A key names the episode (the station's last contact, the fault's start, the job, the
payment), so an alert an operator resolved does not reopen while the same episode lasts,
and the next episode alerts again."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

from sigec_actors.alerts.model import NewAlert, Severity

STATION_OFFLINE: Final = "station_offline"
CONNECTOR_FAULTED: Final = "connector_faulted"
FIRMWARE_FAILED: Final = "firmware_failed"
PAYMENT_FAILED: Final = "payment_failed"
PAYMENT_DISPUTED: Final = "payment_disputed"
NODE_RESTARTING: Final = "node_restarting"


def station_offline(station_id: str, last_seen: datetime, now: datetime,
                    heartbeat_s: int, intervals: int) -> NewAlert | None:
    """A station silent for more than `intervals` heartbeat intervals; None while it is not."""
    silent_s = (now - last_seen).total_seconds()
    if silent_s <= heartbeat_s * intervals:
        return None
    return NewAlert(
        severity=Severity.WARNING, kind=STATION_OFFLINE, charge_point_id=station_id,
        message=(f"station {station_id} has been silent for {int(silent_s)} s"
                 f" (more than {intervals} heartbeat intervals of {heartbeat_s} s)"),
        details={"lastSeen": last_seen.isoformat(), "silentS": int(silent_s)},
        dedupe_key=f"{STATION_OFFLINE}:{station_id}:{last_seen.isoformat()}")


def connector_faulted(station_id: str, evse_id: int, connector_id: int,
                      since: datetime) -> NewAlert:
    return NewAlert(
        severity=Severity.CRITICAL, kind=CONNECTOR_FAULTED, charge_point_id=station_id,
        message=f"station {station_id} EVSE {evse_id} connector {connector_id} is Faulted",
        details={"evseId": evse_id, "connectorId": connector_id, "since": since.isoformat()},
        dedupe_key=f"{CONNECTOR_FAULTED}:{station_id}:{evse_id}:{connector_id}:"
                   f"{since.isoformat()}")


def firmware_failed(event: dict[str, Any]) -> NewAlert | None:
    """From a `firmware.update.failed` event (jobId, chargePointId, error...)."""
    job, station = event.get("jobId"), event.get("chargePointId")
    if not isinstance(job, str) or not isinstance(station, str):
        return None
    return NewAlert(
        severity=Severity.WARNING, kind=FIRMWARE_FAILED, charge_point_id=station,
        message=f"firmware update of station {station} failed: {event.get('error') or '?'}",
        details={k: event.get(k) for k in ("jobId", "requestId", "version", "error",
                                            "campaignId") if k in event},
        dedupe_key=f"{FIRMWARE_FAILED}:{job}")


def payment_trouble(event: dict[str, Any], kind: str) -> NewAlert | None:
    """From a `payment.failed` or `payment.disputed` event (paymentId, amountCentavos...)."""
    payment = event.get("paymentId")
    if not isinstance(payment, str):
        return None
    disputed = kind == PAYMENT_DISPUTED
    return NewAlert(
        severity=Severity.CRITICAL if disputed else Severity.WARNING, kind=kind,
        message=(f"payment {payment} {'is disputed' if disputed else 'failed'}"
                 f" ({event.get('amountCentavos', '?')} centavos)"),
        details={k: event.get(k) for k in ("paymentId", "userId", "amountCentavos",
                                            "method", "provider", "status", "reason")
                 if k in event},
        dedupe_key=f"{kind}:{payment}")


def node_restarting(node: str, starts: int, limit: int, window_s: float) -> NewAlert | None:
    """A node started more than `limit` times within the window (crash loop)."""
    if starts <= limit:
        return None
    return NewAlert(
        severity=Severity.CRITICAL, kind=NODE_RESTARTING,
        message=f"node {node} started {starts} times in the last {int(window_s)} s",
        details={"node": node, "starts": starts, "windowS": window_s},
        dedupe_key=f"{NODE_RESTARTING}:{node}")
