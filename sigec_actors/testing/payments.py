"""In-memory payment store and provider for API tests that need no PostgreSQL or HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID, uuid4

import msgspec

from sigec_actors.payments import offline
from sigec_actors.payments.errors import (
    NotConfirmable,
    ProviderFailed,
    RefundTooLarge,
    UnknownPayment,
)
from sigec_actors.payments.lifecycle import OPEN, PaymentStatus, after_event, after_refund
from sigec_actors.payments.model import (
    Applied,
    IntentRequest,
    Payment,
    PixCode,
    ProviderEvent,
    ProviderIntent,
    Refund,
)


def _now() -> datetime:
    return datetime.now(UTC)


class InMemoryPayments:
    """PaymentStore in a dict; credits are counted in `credited` (no ledger)."""

    def __init__(self) -> None:
        self.rows: dict[UUID, Payment] = {}
        self.seen: set[tuple[str, str]] = set()
        self.credited: dict[UUID, int] = {}
        self.refunds: dict[UUID, Refund] = {}

    async def insert(self, payment_id: UUID, user_id: UUID, provider: str, method: str,
                     amount_centavos: int, idempotency_key: str | None = None) -> Payment:
        for row in self.rows.values():
            if idempotency_key is not None and (row.user_id, row.idempotency_key) == (
                    user_id, idempotency_key):
                return row
        now = _now()
        self.rows[payment_id] = Payment(
            id=payment_id, user_id=user_id, provider=provider, provider_payment_id=None,
            method=method, amount_centavos=amount_centavos, currency="BRL",
            status=PaymentStatus.REQUIRES_ACTION, refunded_centavos=0, journal_entry_id=None,
            failure_reason=None, metadata={}, created_at=now, updated_at=now,
            idempotency_key=idempotency_key)
        return self.rows[payment_id]

    def _set(self, payment_id: UUID, **changes: object) -> Payment:
        if payment_id not in self.rows:
            raise UnknownPayment(payment_id)
        self.rows[payment_id] = msgspec.structs.replace(self.rows[payment_id], **changes)
        return self.rows[payment_id]

    async def attach(self, payment_id: UUID, intent: ProviderIntent,
                     details: dict[str, object]) -> Payment:
        meta = {**self.rows[payment_id].metadata, **msgspec.to_builtins(details)}
        return self._set(payment_id, provider_payment_id=intent.provider_payment_id,
                         metadata=meta)

    async def fail(self, payment_id: UUID, reason: str) -> Payment:
        return self._set(payment_id, status=PaymentStatus.FAILED, failure_reason=reason)

    async def get(self, payment_id: UUID) -> Payment | None:
        return self.rows.get(payment_id)

    async def page(self, user_id: UUID, limit: int, offset: int) -> tuple[list[Payment], int]:
        mine = sorted((p for p in self.rows.values() if p.user_id == user_id),
                      key=lambda p: p.created_at, reverse=True)
        return mine[offset:offset + limit], len(mine)

    async def pending_centavos(self, user_id: UUID) -> int:
        return sum(p.amount_centavos for p in self.rows.values()
                   if p.user_id == user_id and p.status in OPEN)

    async def open_since(self, provider: str, since: datetime, limit: int) -> list[Payment]:
        found = sorted((p for p in self.rows.values() if p.provider == provider
                        and p.status in OPEN and p.created_at >= since),
                       key=lambda p: p.created_at)
        return found[:limit]

    async def apply(self, provider: str, event: ProviderEvent) -> Applied:
        payment = self.rows.get(event.payment_id) if event.payment_id else None
        if payment is None:
            return Applied(duplicate=False, payment=None)
        if (provider, event.event_id) in self.seen:
            return Applied(duplicate=True, payment=payment)
        self.seen.add((provider, event.event_id))
        target = after_event(payment.status, event.type)
        if target is None:
            return Applied(duplicate=False, payment=payment)
        credit = target is PaymentStatus.SUCCEEDED and payment.id not in self.credited
        if credit:
            self.credited[payment.id] = payment.amount_centavos
        return Applied(duplicate=False, payment=self._set(payment.id, status=target),
                       changed=True, credited=credit)

    async def confirm_offline(self, payment_id: UUID, end_to_end_id: str,
                              amount_centavos: int, now: datetime, expiry_s: float,
                              by: UUID | None = None) -> Applied:
        if payment_id not in self.rows:
            raise UnknownPayment(payment_id)
        payment = self.rows[payment_id]
        if not offline.check_confirm(payment, end_to_end_id, amount_centavos, now, expiry_s):
            return Applied(duplicate=True, payment=payment)
        if (offline.BRCODE, end_to_end_id) in self.seen:
            raise NotConfirmable(payment_id, "end_to_end_id_used",
                                 f"transfer {end_to_end_id} confirmed another payment")
        self.seen.add((offline.BRCODE, end_to_end_id))
        self.credited[payment_id] = payment.amount_centavos
        meta = {**payment.metadata, offline.E2E_KEY: end_to_end_id}
        return Applied(duplicate=False, payment=self._set(
            payment_id, status=PaymentStatus.SUCCEEDED, metadata=meta), changed=True,
            credited=True)

    async def expire_offline(self, now: datetime, expiry_s: float, limit: int
                             ) -> list[Payment]:
        due = [p for p in self.rows.values() if offline.is_due(p, now, expiry_s)][:limit]
        return [self._set(p.id, status=PaymentStatus.CANCELED,
                          failure_reason=offline.EXPIRED) for p in due]

    async def start_refund(self, payment_id: UUID, amount_centavos: int | None,
                           by: UUID | None, idempotency_key: str | None = None) -> Refund:
        for done in self.refunds.values():
            if idempotency_key is not None and (done.payment_id, done.idempotency_key) == (
                    payment_id, idempotency_key):
                return done
        p = self.rows[payment_id]
        left = p.amount_centavos - p.refunded_centavos
        ask = left if amount_centavos is None else amount_centavos
        if not 0 < ask <= left:
            raise RefundTooLarge(payment_id, ask, left)
        status = after_refund(payment_id, p.status, p.amount_centavos, p.refunded_centavos, ask)
        self._set(payment_id, status=status, refunded_centavos=p.refunded_centavos + ask)
        refund = Refund(id=uuid4(), payment_id=payment_id, amount_centavos=ask,
                        status="pending", provider_refund_id=None, requested_by=by,
                        created_at=_now(), idempotency_key=idempotency_key)
        self.refunds[refund.id] = refund
        return refund

    async def finish_refund(self, refund_id: UUID, provider_refund_id: str) -> Refund:
        self.refunds[refund_id] = msgspec.structs.replace(
            self.refunds[refund_id], status="succeeded", provider_refund_id=provider_refund_id)
        return self.refunds[refund_id]

    async def undo_refund(self, refund_id: UUID, reason: str) -> Refund:
        refund = self.refunds[refund_id]
        p = self.rows[refund.payment_id]
        left = p.refunded_centavos - refund.amount_centavos
        self._set(p.id, refunded_centavos=left, status=PaymentStatus.SUCCEEDED if left == 0
                  else PaymentStatus.PARTIALLY_REFUNDED)
        self.refunds[refund_id] = msgspec.structs.replace(refund, status="failed")
        return self.refunds[refund_id]


class InMemoryProvider:
    """A PaymentProvider answering from memory (PIX codes are fixed text, not BR Codes)."""

    name = "fake"

    def __init__(self) -> None:
        self.intents: dict[str, ProviderIntent] = {}

    async def create_intent(self, request: IntentRequest) -> ProviderIntent:
        intent = ProviderIntent(
            provider_payment_id=f"pi_mem{request.payment_id.hex[:16]}",
            provider_status="requires_action", status=PaymentStatus.REQUIRES_ACTION,
            amount_centavos=request.amount_centavos, payment_id=request.payment_id,
            pix=PixCode(copy_paste=f"pix-{request.payment_id}"))
        self.intents[intent.provider_payment_id] = intent
        return intent

    async def retrieve(self, provider_payment_id: str) -> ProviderIntent:
        if provider_payment_id not in self.intents:
            raise ProviderFailed("retrieve intent", "no such intent", "resource_missing")
        return self.intents[provider_payment_id]

    async def recent(self, since: datetime, limit: int) -> list[ProviderIntent]:
        return list(self.intents.values())[-limit:]

    async def refund(self, provider_payment_id: str, amount_centavos: int,
                     refund_id: UUID) -> str:
        return f"re_mem{refund_id.hex[:16]}"

    async def aclose(self) -> None:
        return None
