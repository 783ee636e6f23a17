"""Which outbox events the bus can never take (they are parked) and the alert that says so."""

from __future__ import annotations

from typing import Final
from uuid import UUID

import nats.errors
import nats.js.errors

from sigec_actors.alerts.model import NewAlert, Severity

OUTBOX_PARKED: Final = "outbox_parked"
HEADER_ALLOWANCE: Final = 128
"""Bytes kept for the message's headers (Nats-Msg-Id): the server's max_payload counts them."""


def oversize(size: int, max_payload: int) -> str | None:
    """Why an encoded event of `size` bytes can never be published, or None if it fits."""
    if size + HEADER_ALLOWANCE <= max_payload:
        return None
    return (f"event of {size} bytes is over the bus's max_payload of {max_payload} bytes"
            f" (headers included)")


def refused_for_good(error: BaseException) -> bool:
    """True when the server refused the event itself (400: e.g. over the stream's message
    size), so a retry would be refused again; outages, timeouts and 5xx are transient."""
    return isinstance(error, nats.js.errors.BadRequestError | nats.errors.MaxPayloadError)


def parked_alert(subject: str, event_id: UUID, reason: str) -> NewAlert:
    """One open alert per subject while parked events of it wait for an operator."""
    return NewAlert(
        severity=Severity.CRITICAL, kind=OUTBOX_PARKED,
        message=(f"event {subject} {event_id} cannot be published and was parked: {reason};"
                 " later events still flow (parked rows: event_outbox.parked_at IS NOT NULL)"),
        details={"subject": subject, "eventId": str(event_id), "reason": reason},
        dedupe_key=f"{OUTBOX_PARKED}:{subject}")
