"""PostgreSQL side of PIX BR Codes made here (no PSP): an admin's confirmation from the bank
statement and the expiry sweep. Both record their news in `processed_webhooks` (provider
`brcode`) and move the payment through `apply_locked`, in one transaction, exactly as a
webhook does: the same credit (keyed by the payment), the same events, once."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sigec_actors.adapters.pg import to_record, transaction
from sigec_actors.adapters.pg_payment_apply import apply_locked, locked_payment
from sigec_actors.payments import offline
from sigec_actors.payments.errors import NotConfirmable
from sigec_actors.payments.lifecycle import EVENT_OF, OPEN, PaymentStatus
from sigec_actors.payments.model import Applied, Payment, ProviderEvent
from sigec_actors.ports import DbConn, DbPool

_OPEN = [s.value for s in OPEN]
_RECORD = ("INSERT INTO processed_webhooks (provider, event_id, payload) VALUES ($1, $2, $3)"
           " ON CONFLICT DO NOTHING RETURNING event_id")
_DUE = ("SELECT id FROM payments WHERE provider = $1 AND status = ANY($2::text[])"
        " AND coalesce((metadata -> 'pix' ->> 'expires_at')::timestamptz,"
        " created_at + make_interval(secs => $3)) <= $4 ORDER BY created_at, id LIMIT $5")


async def confirm(pool: DbPool, legs: tuple[UUID, UUID], payment_id: UUID,
                  end_to_end_id: str, amount_centavos: int, now: datetime, expiry_s: float,
                  by: UUID | None) -> Applied:
    """Credit the payment for the transfer `end_to_end_id`, once: the payment is locked, the
    rules checked (offline.check_confirm), the transfer recorded (one payment per end-to-end
    id) and the success applied, all in one transaction. The same transfer again answers the
    payment (`duplicate`, nothing credited)."""
    async with transaction(pool) as conn:
        current = await locked_payment(conn, payment_id)
        if not offline.check_confirm(current, end_to_end_id, amount_centavos, now, expiry_s):
            return Applied(duplicate=True, payment=current)
        note = {"paymentId": str(payment_id), "amountCentavos": amount_centavos,
                "confirmedBy": str(by) if by else None}
        if await conn.fetchval(_RECORD, offline.BRCODE, end_to_end_id, note) is None:
            raise NotConfirmable(payment_id, "end_to_end_id_used", (
                f"transfer {end_to_end_id} confirmed payment "
                f"{await _confirmed_by(conn, end_to_end_id)} already"))
        applied = await apply_locked(conn, payment_id, _news(
            current, end_to_end_id, PaymentStatus.SUCCEEDED, note), legs)
        row = await conn.fetchrow(
            "UPDATE payments SET metadata = metadata || $2::jsonb WHERE id = $1 RETURNING *",
            payment_id, {offline.E2E_KEY: end_to_end_id, "confirmedBy": note["confirmedBy"]})
    return Applied(duplicate=False, payment=to_record(row, Payment), changed=applied.changed,
                   credited=applied.credited)


async def expire_due(pool: DbPool, now: datetime, expiry_s: float, limit: int
                     ) -> list[Payment]:
    """Cancel (failure reason `expired`) the open BR Code payments whose expiry has passed,
    oldest first, at most `limit`; each once whatever runs concurrently (payment.failed)."""
    async with pool.acquire() as conn:
        due = [r["id"] for r in await conn.fetch(_DUE, offline.BRCODE, _OPEN, expiry_s, now,
                                                 limit)]
    expired = []
    for payment_id in due:
        async with transaction(pool) as conn:
            current = await locked_payment(conn, payment_id)
            if not offline.is_due(current, now, expiry_s):
                continue  # confirmed (or expired) meanwhile
            event_id = f"expire:{payment_id}"
            note = {"paymentId": str(payment_id), "cancellation_reason": offline.EXPIRED}
            if await conn.fetchval(_RECORD, offline.BRCODE, event_id, note) is None:
                continue
            applied = await apply_locked(conn, payment_id, _news(
                current, event_id, PaymentStatus.CANCELED, note), None)
        if applied.changed and applied.payment is not None:
            expired.append(applied.payment)
    return expired


def _news(payment: Payment, event_id: str, status: PaymentStatus,
          payload: dict[str, Any]) -> ProviderEvent:
    return ProviderEvent(event_id=event_id, type=EVENT_OF[status],
                         provider_payment_id=payment.provider_payment_id or payment.id.hex,
                         payment_id=payment.id, payload=payload)


async def _confirmed_by(conn: DbConn, end_to_end_id: str) -> str:
    found = await conn.fetchval(
        "SELECT payload ->> 'paymentId' FROM processed_webhooks WHERE provider = $1"
        " AND event_id = $2", offline.BRCODE, end_to_end_id)
    return str(found)
