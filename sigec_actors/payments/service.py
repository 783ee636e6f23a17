"""Payment use cases: create an intent, apply a provider event, refund (the shell around I/O)."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import msgspec

from sigec_actors.config import PaymentsConfig
from sigec_actors.payments import brcode
from sigec_actors.payments.errors import ProviderFailed, UnknownPayment
from sigec_actors.payments.lifecycle import PaymentStatus
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
)
from sigec_actors.payments.ports import PaymentProvider, PaymentStore

BRCODE = "brcode"


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
                 config: PaymentsConfig) -> None:
        self.store = store
        self.provider = provider
        self._config = config

    async def create(self, user_id: UUID, amount_centavos: int, method: Method,
                     payer: Payer | None = None) -> Payment:
        payment_id = uuid4()
        offline = method is Method.PIX and self._config.pix_provider == BRCODE
        await self.store.insert(payment_id, user_id, BRCODE if offline else self.provider.name,
                                method.value, amount_centavos)
        if offline:
            intent = self._brcode(payment_id, amount_centavos)
        else:
            try:
                intent = await self.provider.create_intent(IntentRequest(
                    payment_id=payment_id, user_id=user_id, amount_centavos=amount_centavos,
                    method=method, payer=payer))
            except ProviderFailed as exc:
                await self.store.fail(payment_id, str(exc))
                raise
        return await self.store.attach(payment_id, intent, details_of(intent))

    def _brcode(self, payment_id: UUID, amount: int) -> ProviderIntent:
        """A PIX BR Code made here (no PSP): our payment id (hex, 25 characters) is its txid."""
        c, txid = self._config, payment_id.hex[:25]
        if c.pix_location:
            data = brcode.dynamic_payload(c.pix_location, c.merchant_name, c.merchant_city,
                                          amount_centavos=amount, txid=txid)
        else:
            data = brcode.static_payload(c.pix_key, c.merchant_name, c.merchant_city,
                                         amount_centavos=amount, txid=txid)
        return ProviderIntent(provider_payment_id=txid, provider_status="requires_action",
                              status=PaymentStatus.REQUIRES_ACTION, amount_centavos=amount,
                              payment_id=payment_id, pix=PixCode(copy_paste=data))

    async def apply(self, event: ProviderEvent) -> Applied:
        return await self.store.apply(self.provider.name, event)

    async def refund(self, payment_id: UUID, amount_centavos: int | None,
                     by: UUID | None) -> Refund:
        """Debit the wallet, then refund at the provider; a refused refund is credited back."""
        payment = await self.store.get(payment_id)
        if payment is None:
            raise UnknownPayment(payment_id)
        if payment.provider != self.provider.name or payment.provider_payment_id is None:
            raise ProviderFailed("refund", f"no {payment.provider} PSP to refund through")
        refund = await self.store.start_refund(payment_id, amount_centavos, by)
        try:
            provider_refund = await self.provider.refund(
                payment.provider_payment_id, refund.amount_centavos, refund.id)
        except ProviderFailed as exc:
            await self.store.undo_refund(refund.id, str(exc))
            raise
        return await self.store.finish_refund(refund.id, provider_refund)
