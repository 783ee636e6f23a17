"""Payment use cases: create an intent, apply a provider event, refund (the shell around I/O)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import msgspec

from sigec_actors.config import PaymentsConfig
from sigec_actors.payments import brcode
from sigec_actors.payments.errors import IdempotencyKeyReused, ProviderFailed, UnknownPayment
from sigec_actors.payments.lifecycle import (
    EVENT_TARGETS,
    OPEN,
    PaymentStatus,
    after_event,
    event_for,
)
from sigec_actors.payments.model import (
    Applied,
    IntentRequest,
    Method,
    Payer,
    Payment,
    PixCode,
    ProviderEvent,
    ProviderIntent,
    Refund,
    provider_key,
)
from sigec_actors.payments.offline import BRCODE
from sigec_actors.payments.ports import PaymentProvider, PaymentStore

EXPIRE_BATCH = 500
"""BR Code payments one expiry round cancels at most (the next round takes the rest)."""


def details_of(intent: ProviderIntent) -> dict[str, Any]:
    """What the API shows about an intent besides its state (kept in payments.metadata)."""
    out: dict[str, Any] = {}
    if intent.client_secret:
        out["clientSecret"] = intent.client_secret
    if intent.pix is not None:
        out["pix"] = msgspec.to_builtins(intent.pix)
    if intent.boleto is not None:
        out["boleto"] = msgspec.to_builtins(intent.boleto)
    return out


class PaymentService:
    """Top-ups through the provider; a success is credited only by `apply` (a webhook or
    reconciliation), once per payment."""

    def __init__(self, store: PaymentStore, provider: PaymentProvider,
                 config: PaymentsConfig,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.provider = provider
        self._config = config
        self._clock = clock

    async def create(self, user_id: UUID, amount_centavos: int, method: Method,
                     payer: Payer | None = None, idempotency_key: str | None = None
                     ) -> Payment:
        """A new intent; under an Idempotency-Key the user used before, the payment made then
        (finished at the provider if the first attempt stopped before it answered)."""
        offline = method is Method.PIX and self._config.pix_provider == BRCODE
        provider = BRCODE if offline else self.provider.name
        payment_id = uuid4()
        payment = await self.store.insert(payment_id, user_id, provider, method.value,
                                          amount_centavos, idempotency_key)
        if payment.id != payment_id:  # made under this key before (or concurrently)
            _same(payment, amount_centavos, method, provider)
            if payment.provider_payment_id is not None or payment.status not in OPEN:
                return payment  # else: the first attempt stopped before the provider answered
        if offline:
            intent = self._brcode(payment.id, amount_centavos)
        else:
            try:
                intent = await self.provider.create_intent(IntentRequest(
                    payment_id=payment.id, user_id=user_id, amount_centavos=amount_centavos,
                    method=method, payer=payer, idempotency_key=provider_key(
                        user_id, idempotency_key) if idempotency_key else None))
            except ProviderFailed as exc:
                await self.store.fail(payment.id, str(exc))
                raise
        return await self.store.attach(payment.id, intent, details_of(intent))

    def _brcode(self, payment_id: UUID, amount: int) -> ProviderIntent:
        """A PIX BR Code made here (no PSP): our payment id (hex, 25 characters) is its txid."""
        c, txid = self._config, payment_id.hex[:25]
        if c.pix_location:
            data = brcode.dynamic_payload(c.pix_location, c.merchant_name, c.merchant_city,
                                          amount_centavos=amount, txid=txid)
        else:
            data = brcode.static_payload(c.pix_key, c.merchant_name, c.merchant_city,
                                         amount_centavos=amount, txid=txid)
        expires = self._clock() + timedelta(seconds=c.brcode_expiry_s)
        return ProviderIntent(provider_payment_id=txid, provider_status="requires_action",
                              status=PaymentStatus.REQUIRES_ACTION, amount_centavos=amount,
                              payment_id=payment_id,
                              pix=PixCode(copy_paste=data, expires_at=expires))

    async def confirm(self, payment_id: UUID, end_to_end_id: str, amount_centavos: int,
                      by: UUID | None) -> Applied:
        """An admin read the PIX transfer `end_to_end_id` on the bank statement: credit the
        BR Code payment it pays, once (offline.check_confirm says when it may not)."""
        return await self.store.confirm_offline(payment_id, end_to_end_id, amount_centavos,
                                                self._clock(), self._config.brcode_expiry_s, by)

    async def expire_offline(self) -> list[Payment]:
        """Cancel the BR Code payments made here whose expiry passed (the node's job)."""
        return await self.store.expire_offline(self._clock(), self._config.brcode_expiry_s,
                                               EXPIRE_BATCH)

    async def apply(self, event: ProviderEvent) -> Applied:
        return await self.store.apply(self.provider.name, await self._news(event))

    async def _news(self, event: ProviderEvent) -> ProviderEvent:
        """`event`, or the intent's state now when `event` would put a payment back to pending.

        Stripe does not order deliveries. A late success, failure or cancel is either ignored
        by the lifecycle or corrected by the attempt's own outcome, but a late `processing` or
        `requires_action` (sent before a failure, delivered after it) would leave the payment
        pending for good: for such a move the provider says where the intent is now, as Stripe
        advises. ProviderFailed (a non-2xx answer: Stripe delivers the event again) if it
        cannot.
        """
        if EVENT_TARGETS.get(event.type) not in OPEN or event.payment_id is None:
            return event
        payment = await self.store.get(event.payment_id)
        if payment is None or payment.provider != self.provider.name \
                or after_event(payment.status, event.type) is None:
            return event  # not ours, or it changes nothing anyway
        now = await self.provider.retrieve(event.provider_payment_id)
        return msgspec.structs.replace(event, type=event_for(now.status))

    async def refund(self, payment_id: UUID, amount_centavos: int | None,
                     by: UUID | None, idempotency_key: str | None = None) -> Refund:
        """Debit the wallet, then refund at the provider; a refused refund is credited back."""
        payment = await self.store.get(payment_id)
        if payment is None:
            raise UnknownPayment(payment_id)
        if payment.provider != self.provider.name or payment.provider_payment_id is None:
            raise ProviderFailed("refund", f"no {payment.provider} PSP to refund through")
        refund = await self.store.start_refund(payment_id, amount_centavos, by, idempotency_key)
        if refund.status != "pending":
            return refund  # made under this key before
        try:
            provider_refund = await self.provider.refund(
                payment.provider_payment_id, refund.amount_centavos, refund.id)
        except ProviderFailed as exc:
            await self.store.undo_refund(refund.id, str(exc))
            raise
        return await self.store.finish_refund(refund.id, provider_refund)


def _same(payment: Payment, amount_centavos: int, method: Method, provider: str) -> None:
    """A keyed payment found again must be the one asked for now."""
    asked = (amount_centavos, method.value, provider)
    if (payment.amount_centavos, payment.method, payment.provider) != asked:
        raise IdempotencyKeyReused(payment.idempotency_key or "", (
            f"payment {payment.id} is {payment.amount_centavos} centavos by "
            f"{payment.method}"))
