"""PostgreSQL payments: intents, webhooks applied exactly once with their credit, refunds."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from sigec_actors.adapters import pg_payments_offline as offline_pix
from sigec_actors.adapters.pg import CheckViolation, constraint_name, to_record, transaction
from sigec_actors.adapters.pg_ledger import post_on
from sigec_actors.adapters.pg_payment_apply import apply_locked, locked_payment, wallet_event
from sigec_actors.domain.errors import InsufficientFunds
from sigec_actors.domain.events import WALLET_CREDITED, WALLET_DEBITED
from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.payments.errors import IdempotencyKeyReused, RefundTooLarge, UnknownPayment
from sigec_actors.payments.lifecycle import (
    OPEN,
    PaymentStatus,
    after_event,
    after_refund,
    event_for,
)
from sigec_actors.payments.model import (
    SOURCE_REFUND,
    SOURCE_REFUND_UNDONE,
    Applied,
    Payment,
    ProviderEvent,
    ProviderIntent,
    Refund,
)
from sigec_actors.ports import DbConn, DbPool, LedgerRepository

_OPEN = [s.value for s in OPEN]


class PgPayments:
    """PaymentStore on PostgreSQL; money moves only through the ledger (balanced entries)."""

    def __init__(self, pool: DbPool, ledger: LedgerRepository) -> None:
        self._pool = pool
        self._ledger = ledger

    async def insert(self, payment_id: UUID, user_id: UUID, provider: str, method: str,
                     amount_centavos: int, idempotency_key: str | None = None) -> Payment:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "INSERT INTO payments (id, user_id, provider, method, amount_centavos, status,"
                " idempotency_key) VALUES ($1, $2, $3, $4, $5, 'requires_action', $6)"
                " ON CONFLICT (user_id, idempotency_key) WHERE idempotency_key IS NOT NULL"
                " DO NOTHING RETURNING *",
                payment_id, user_id, provider, method, amount_centavos, idempotency_key)
            if row is None:  # the key's payment (a concurrent insert: after its commit)
                row = await conn.fetchrow(
                    "SELECT * FROM payments WHERE user_id = $1 AND idempotency_key = $2",
                    user_id, idempotency_key)
        return to_record(row, Payment)

    async def attach(self, payment_id: UUID, intent: ProviderIntent,
                     details: dict[str, Any]) -> Payment:
        """The provider's id and details; the state only moves forward (a webhook may have
        been applied already)."""
        async with transaction(self._pool) as conn:
            current = await locked_payment(conn, payment_id)
            status = current.status
            if intent.status != status and after_event(status, event_for(intent.status)):
                status = intent.status
            row = await conn.fetchrow(
                "UPDATE payments SET provider_payment_id = $2, status = $3,"
                " metadata = metadata || $4::jsonb WHERE id = $1 RETURNING *",
                payment_id, intent.provider_payment_id, status.value, details)
        return to_record(row, Payment)

    async def fail(self, payment_id: UUID, reason: str) -> Payment:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "UPDATE payments SET status = 'failed', failure_reason = $2 WHERE id = $1"
                " AND status IN ('requires_action', 'processing') RETURNING *",
                payment_id, reason[:500])
        return to_record(row, Payment) if row else await self._require(payment_id)

    async def get(self, payment_id: UUID) -> Payment | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM payments WHERE id = $1", payment_id)
        return to_record(row, Payment) if row else None

    async def by_provider_id(self, provider: str, provider_payment_id: str) -> Payment | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT * FROM payments WHERE provider = $1 AND provider_payment_id = $2",
                provider, provider_payment_id)
        return to_record(row, Payment) if row else None

    async def page(self, user_id: UUID, limit: int, offset: int) -> tuple[list[Payment], int]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM payments WHERE user_id = $1 ORDER BY created_at DESC, id"
                " LIMIT $2 OFFSET $3", user_id, limit, offset)
            total = await conn.fetchval("SELECT count(*) FROM payments WHERE user_id = $1",
                                        user_id)
        return [to_record(r, Payment) for r in rows], int(total)

    async def pending_centavos(self, user_id: UUID) -> int:
        async with self._pool.acquire() as conn:
            return int(await conn.fetchval(
                "SELECT coalesce(sum(amount_centavos), 0) FROM payments WHERE user_id = $1"
                " AND status = ANY($2::text[])", user_id, _OPEN))

    async def open_since(self, provider: str, since: datetime, limit: int) -> list[Payment]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM payments WHERE provider = $1 AND status = ANY($2::text[])"
                " AND created_at >= $3 ORDER BY created_at, id LIMIT $4",
                provider, _OPEN, since, limit)
        return [to_record(r, Payment) for r in rows]

    async def apply(self, provider: str, event: ProviderEvent) -> Applied:
        payment = await self._find(provider, event)
        if payment is None:  # not one of ours: nothing to record
            return Applied(duplicate=False, payment=None)
        legs = await self._legs(payment.user_id)
        async with transaction(self._pool) as conn:
            fresh = await conn.fetchval(
                "INSERT INTO processed_webhooks (provider, event_id, payload) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING RETURNING event_id", provider, event.event_id,
                event.payload)
            if fresh is None:  # seen before (maybe concurrently: we waited for its commit)
                return Applied(duplicate=True, payment=payment)
            return await apply_locked(conn, payment.id, event, legs)

    async def confirm_offline(self, payment_id: UUID, end_to_end_id: str,
                              amount_centavos: int, now: datetime, expiry_s: float,
                              by: UUID | None = None) -> Applied:
        payment = await self._require(payment_id)
        return await offline_pix.confirm(self._pool, await self._legs(payment.user_id),
                                         payment_id, end_to_end_id, amount_centavos, now,
                                         expiry_s, by)

    async def expire_offline(self, now: datetime, expiry_s: float, limit: int
                             ) -> list[Payment]:
        return await offline_pix.expire_due(self._pool, now, expiry_s, limit)

    async def start_refund(self, payment_id: UUID, amount_centavos: int | None,
                           by: UUID | None, idempotency_key: str | None = None) -> Refund:
        payment = await self._require(payment_id)
        wallet, clearing = await self._legs(payment.user_id)
        try:
            async with transaction(self._pool) as conn:
                return await _start_refund(conn, payment_id, amount_centavos, by,
                                           (wallet, clearing), idempotency_key)
        except CheckViolation as exc:
            if constraint_name(exc) == "ledger_accounts_no_overdraw":
                raise InsufficientFunds(SOURCE_REFUND, str(payment_id)) from exc
            raise

    async def finish_refund(self, refund_id: UUID, provider_refund_id: str) -> Refund:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "UPDATE payment_refunds SET status = 'succeeded', provider_refund_id = $2"
                " WHERE id = $1 RETURNING *", refund_id, provider_refund_id)
        return to_record(row, Refund)

    async def undo_refund(self, refund_id: UUID, reason: str) -> Refund:
        async with transaction(self._pool) as conn:
            refund = to_record(await conn.fetchrow(
                "SELECT * FROM payment_refunds WHERE id = $1 FOR UPDATE", refund_id), Refund)
            if refund.status != "pending":
                return refund
            payment = await locked_payment(conn, refund.payment_id)
            wallet, clearing = await self._legs(payment.user_id)
            await post_on(conn, NewJournalEntry(
                SOURCE_REFUND_UNDONE, str(refund_id),
                (PostingIn(clearing, -refund.amount_centavos),
                 PostingIn(wallet, refund.amount_centavos)),
                description="refund refused by the provider: credited back"),
                [wallet_event(WALLET_CREDITED, payment, refund.amount_centavos)])
            left = payment.refunded_centavos - refund.amount_centavos
            status = PaymentStatus.SUCCEEDED if left == 0 else PaymentStatus.PARTIALLY_REFUNDED
            await conn.execute(
                "UPDATE payments SET refunded_centavos = $2, status = $3 WHERE id = $1",
                payment.id, left, status.value)
            row = await conn.fetchrow(
                "UPDATE payment_refunds SET status = 'failed', failure_reason = $2"
                " WHERE id = $1 RETURNING *", refund_id, reason[:500])
        return to_record(row, Refund)

    async def _find(self, provider: str, event: ProviderEvent) -> Payment | None:
        if event.payment_id is not None:
            payment = await self.get(event.payment_id)
            if payment is not None and payment.provider == provider:
                return payment
            return None
        return await self.by_provider_id(provider, event.provider_payment_id)

    async def _require(self, payment_id: UUID) -> Payment:
        payment = await self.get(payment_id)
        if payment is None:
            raise UnknownPayment(payment_id)
        return payment

    async def _legs(self, user_id: UUID) -> tuple[UUID, UUID]:
        """The user's wallet and the PSP clearing account (created on first use)."""
        wallet = await self._ledger.account(AccountKind.USER_WALLET, user_id)
        clearing = await self._ledger.account(AccountKind.PSP_CLEARING)
        return wallet.id, clearing.id


async def _keyed_refund(conn: DbConn, payment_id: UUID, amount: int | None,
                        key: str) -> Refund | None:
    """The refund already made under `key` on this payment (its row is locked by the caller)."""
    row = await conn.fetchrow("SELECT * FROM payment_refunds WHERE payment_id = $1"
                              " AND idempotency_key = $2", payment_id, key)
    if row is None:
        return None
    refund = to_record(row, Refund)
    if amount is not None and amount != refund.amount_centavos:
        raise IdempotencyKeyReused(key, f"refund {refund.id} was of {refund.amount_centavos}"
                                        f" centavos, not {amount}")
    return refund


async def _start_refund(conn: DbConn, payment_id: UUID, amount: int | None, by: UUID | None,
                        legs: tuple[UUID, UUID], key: str | None) -> Refund:
    payment = await locked_payment(conn, payment_id)
    if key is not None and (done := await _keyed_refund(conn, payment_id, amount, key)):
        return done
    wallet, clearing = legs
    remaining = payment.amount_centavos - payment.refunded_centavos
    ask = remaining if amount is None else amount
    if ask <= 0 or ask > remaining:
        raise RefundTooLarge(payment_id, ask, remaining)
    target = after_refund(payment_id, payment.status, payment.amount_centavos,
                          payment.refunded_centavos, ask)
    refund = to_record(await conn.fetchrow(
        "INSERT INTO payment_refunds (payment_id, amount_centavos, requested_by,"
        " idempotency_key) VALUES ($1, $2, $3, $4) RETURNING *", payment_id, ask, by, key),
        Refund)
    await post_on(conn, NewJournalEntry(
        SOURCE_REFUND, str(refund.id), (PostingIn(wallet, -ask), PostingIn(clearing, ask)),
        description=f"refund of payment {payment_id}",
        metadata={"paymentId": str(payment_id)}),
        [wallet_event(WALLET_DEBITED, payment, ask)])
    await conn.execute(
        "UPDATE payments SET refunded_centavos = refunded_centavos + $2, status = $3"
        " WHERE id = $1", payment_id, ask, target.value)
    return refund
