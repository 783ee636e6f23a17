"""Stripe webhooks: the signature checked on the raw body, then the event read as ours."""

from __future__ import annotations

import json
from typing import Any
from uuid import UUID

import stripe

from sigec_actors.payments.errors import BadSignature
from sigec_actors.payments.model import ProviderEvent

SIGNATURE_HEADER = "Stripe-Signature"


def verify(payload: bytes, header: str | None, secret: str,
           tolerance_s: int) -> ProviderEvent | None:
    """The PaymentIntent event a correctly signed `payload` carries, or a dispute of one (its
    `charge.dispute.*` event, found by the disputed PaymentIntent); None for other objects.

    stripe's own verification: HMAC-SHA256 over "t.payload" with `secret`, and the timestamp
    within `tolerance_s` of now; BadSignature otherwise.
    """
    try:
        stripe.Webhook.construct_event(payload, header or "", secret, tolerance=tolerance_s)
    except stripe.SignatureVerificationError as exc:
        raise BadSignature(str(exc.user_message or "signature verification failed")) from exc
    except ValueError as exc:  # signed but not JSON
        raise BadSignature("the body is not a JSON event") from exc
    event: dict[str, Any] = json.loads(payload)
    obj = (event.get("data") or {}).get("object") or {}
    if obj.get("object") == "dispute" and obj.get("payment_intent"):
        return ProviderEvent(event_id=str(event["id"]), type=str(event["type"]),
                             provider_payment_id=str(obj["payment_intent"]), payment_id=None,
                             payload=obj)
    if obj.get("object") != "payment_intent" or not obj.get("id"):
        return None
    return ProviderEvent(event_id=str(event["id"]), type=str(event["type"]),
                         provider_payment_id=str(obj["id"]),
                         payment_id=payment_id_of(obj.get("metadata") or {}), payload=obj)


def payment_id_of(metadata: dict[str, Any]) -> UUID | None:
    try:
        return UUID(str(metadata["payment_id"]))
    except (KeyError, ValueError):
        return None
