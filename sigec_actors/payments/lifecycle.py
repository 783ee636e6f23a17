"""The payment lifecycle: states, the transition table, and provider events applied in any order."""

from __future__ import annotations

from enum import StrEnum
from uuid import UUID

from sigec_actors.payments.errors import IllegalTransition


class PaymentStatus(StrEnum):
    REQUIRES_ACTION = "requires_action"
    PROCESSING = "processing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    REFUNDED = "refunded"
    PARTIALLY_REFUNDED = "partially_refunded"


S = PaymentStatus
OPEN = frozenset({S.REQUIRES_ACTION, S.PROCESSING})
"""Money announced, not received yet: what the wallet shows as pending."""
PAID = frozenset({S.SUCCEEDED, S.PARTIALLY_REFUNDED, S.REFUNDED})
"""The money arrived (the wallet was credited), whatever was refunded since."""

# Stripe's rules: a failed attempt puts the intent back to requires_payment_method, so a later
# attempt may still succeed (failed -> succeeded) or the intent may be canceled; a succeeded or
# canceled intent never changes again, except by refunds of a succeeded one.
TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    S.REQUIRES_ACTION: frozenset({S.PROCESSING, S.SUCCEEDED, S.FAILED, S.CANCELED}),
    S.PROCESSING: frozenset({S.REQUIRES_ACTION, S.SUCCEEDED, S.FAILED, S.CANCELED}),
    S.FAILED: frozenset({S.REQUIRES_ACTION, S.PROCESSING, S.SUCCEEDED, S.CANCELED}),
    S.SUCCEEDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.PARTIALLY_REFUNDED: frozenset({S.PARTIALLY_REFUNDED, S.REFUNDED}),
    S.CANCELED: frozenset(),
    S.REFUNDED: frozenset(),
}

EVENT_TARGETS: dict[str, PaymentStatus] = {
    "payment_intent.requires_action": S.REQUIRES_ACTION,
    "payment_intent.processing": S.PROCESSING,
    "payment_intent.succeeded": S.SUCCEEDED,
    "payment_intent.payment_failed": S.FAILED,
    "payment_intent.canceled": S.CANCELED,
}
"""The provider events we act on and the state each one reports."""
EVENT_OF: dict[PaymentStatus, str] = {target: event for event, target in EVENT_TARGETS.items()}
"""The event reporting a state (refund states have none: they are ours)."""


def event_for(status: PaymentStatus) -> str:
    """The provider event that reports `status` (`requires_action` for a state of ours)."""
    return EVENT_OF.get(status, "payment_intent.requires_action")


def transition(payment_id: UUID | str, current: PaymentStatus,
               target: PaymentStatus) -> PaymentStatus:
    """`target` if the table allows it from `current`; IllegalTransition otherwise."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(payment_id, current.value, target.value)
    return target


def after_event(current: PaymentStatus, event_type: str) -> PaymentStatus | None:
    """The state a provider event moves a payment to, or None when it changes nothing.

    Events arrive late, twice and out of order: one whose state the table does not allow from
    `current` is stale (a `payment_failed` after `succeeded`, anything after `canceled`) and
    is ignored, so the payment ends in the state the provider ends in.
    """
    target = EVENT_TARGETS.get(event_type)
    if target is None or target == current or target not in TRANSITIONS[current]:
        return None
    return target


def after_refund(payment_id: UUID | str, current: PaymentStatus, amount_centavos: int,
                 refunded_centavos: int, refund_centavos: int) -> PaymentStatus:
    """The state after refunding `refund_centavos` more; IllegalTransition unless paid."""
    total = refunded_centavos + refund_centavos
    target = S.REFUNDED if total >= amount_centavos else S.PARTIALLY_REFUNDED
    return transition(payment_id, current, target)


def from_provider(status: str, has_error: bool = False) -> PaymentStatus:
    """Our state for a Stripe PaymentIntent status (requires_payment_method after a failed
    attempt, i.e. with a last_payment_error, is failed)."""
    match status:
        case "succeeded":
            return S.SUCCEEDED
        case "processing":
            return S.PROCESSING
        case "canceled":
            return S.CANCELED
        case "requires_payment_method" if has_error:
            return S.FAILED
    return S.REQUIRES_ACTION
