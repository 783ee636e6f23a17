"""Applying provider news to a locked payment (webhooks, reconciliation, PIX made here): its
state, the one credit of a success and the events, inside the caller's transaction."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sigec_actors.adapters.pg import to_record, write_events
from sigec_actors.adapters.pg_ledger import post_on
from sigec_actors.domain.events import (
    PAYMENT_COMPLETED,
    PAYMENT_DISPUTED,
    PAYMENT_FAILED,
    WALLET_CREDITED,
)
from sigec_actors.domain.ledger import NewJournalEntry, PostingIn
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.payments.errors import UnknownPayment
from sigec_actors.payments.lifecycle import PaymentStatus, after_event
from sigec_actors.payments.model import SOURCE_TOPUP, Applied, Payment, ProviderEvent
from sigec_actors.ports import DbConn

_LOCK = "SELECT * FROM payments WHERE id = $1 FOR UPDATE"


async def locked_payment(conn: DbConn, payment_id: UUID) -> Payment:
    row = await conn.fetchrow(_LOCK, payment_id)
    if row is None:
        raise UnknownPayment(payment_id)
    return to_record(row, Payment)


DISPUTE_OPENED = "charge.dispute.created"
"""Stripe's event for a chargeback: `payment.disputed` is published (the operator alert rule
opens a critical alert); the wallet is not debited automatically."""


async def apply_locked(conn: DbConn, payment_id: UUID, event: ProviderEvent,
                       legs: tuple[UUID, UUID] | None) -> Applied:
    """Apply `event` to the payment (locked here) in the caller's transaction: its new state,
    the one credit of a success (`legs`: the wallet and the PSP clearing account), the events.
    The caller has recorded the event id (exactly once)."""
    payment = await locked_payment(conn, payment_id)
    if event.type == DISPUTE_OPENED:  # the operator decides: an alert, no money moves here
        await write_events(conn, [OutboxMessage(PAYMENT_DISPUTED, {
            **payment_event(payment, payment.status), "disputeId": event.payload.get("id"),
            "disputedCentavos": event.payload.get("amount"),
            "reason": event.payload.get("reason")})])
        return Applied(duplicate=False, payment=payment)
    target = after_event(payment.status, event.type)
    if target is None:  # stale or repeated news: recorded, nothing changes
        return Applied(duplicate=False, payment=payment)
    entry_id, credited = payment.journal_entry_id, False
    events: list[OutboxMessage] = []
    if target in (PaymentStatus.FAILED, PaymentStatus.CANCELED):
        events.append(OutboxMessage(PAYMENT_FAILED, {**payment_event(payment, target),
                                                     "failureReason": failure_of(event)}))
    if target is PaymentStatus.SUCCEEDED:
        events.append(OutboxMessage(PAYMENT_COMPLETED, payment_event(payment, target)))
        if entry_id is None:  # the one credit of this payment (source key: its id)
            assert legs is not None, "a success needs the wallet and clearing accounts"
            wallet, clearing = legs
            result = await post_on(conn, NewJournalEntry(
                SOURCE_TOPUP, str(payment.id),
                (PostingIn(clearing, -payment.amount_centavos),
                 PostingIn(wallet, payment.amount_centavos)),
                description=f"top-up by {payment.method}",
                metadata={"provider": payment.provider,
                          "providerPaymentId": event.provider_payment_id}),
                [wallet_event(WALLET_CREDITED, payment, payment.amount_centavos)])
            entry_id, credited = result.entry.id, result.created
    row = await conn.fetchrow(
        "UPDATE payments SET status = $2, journal_entry_id = $3,"
        " provider_payment_id = coalesce(provider_payment_id, $4),"
        " failure_reason = CASE WHEN $2 IN ('failed', 'canceled') THEN $5 ELSE NULL END"
        " WHERE id = $1 RETURNING *", payment.id, target.value, entry_id,
        event.provider_payment_id, failure_of(event))
    await write_events(conn, events)
    return Applied(duplicate=False, payment=to_record(row, Payment), changed=True,
                   credited=credited)



def failure_of(event: ProviderEvent) -> str | None:
    error = event.payload.get("last_payment_error")
    if isinstance(error, dict):
        return str(error.get("message") or error.get("code") or "payment failed")[:500]
    reason = event.payload.get("cancellation_reason")  # e.g. "expired" (a BR Code made here)
    if isinstance(reason, str) and reason:
        return reason[:500]
    return event.type.rsplit(".", 1)[-1]


def payment_event(payment: Payment, status: PaymentStatus) -> dict[str, Any]:
    return {"paymentId": str(payment.id), "userId": str(payment.user_id),
            "amountCentavos": payment.amount_centavos, "method": payment.method,
            "provider": payment.provider, "status": status.value}


def wallet_event(subject: str, payment: Payment, amount: int) -> OutboxMessage:
    return OutboxMessage(subject, {"userId": str(payment.user_id), "amountCentavos": amount,
                                   "paymentId": str(payment.id)})
