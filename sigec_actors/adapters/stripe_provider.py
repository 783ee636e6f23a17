"""PaymentProvider on the `stripe` package: PaymentIntents for card, pix and boleto, refunds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import stripe

from sigec_actors.payments.errors import ProviderFailed
from sigec_actors.payments.lifecycle import from_provider
from sigec_actors.payments.model import (
    BoletoVoucher,
    IntentRequest,
    Method,
    PixCode,
    ProviderIntent,
)

PAGE = 100


def payment_key(payment_id: UUID) -> str:
    """The Idempotency-Key of a payment's intent: a retry returns the intent made first."""
    return f"sigec-payment-{payment_id}"


def refund_key(refund_id: UUID) -> str:
    return f"sigec-refund-{refund_id}"


def _time(value: Any) -> datetime | None:
    return datetime.fromtimestamp(int(value), UTC) if value else None


def intent_of(obj: Any) -> ProviderIntent:
    """Our view of a Stripe PaymentIntent object (or its JSON as a dict)."""
    pi: dict[str, Any] = obj.to_dict() if isinstance(obj, stripe.StripeObject) else obj
    action = pi.get("next_action") or {}
    pix = action.get("pix_display_qr_code")
    boleto = action.get("boleto_display_details")
    metadata = pi.get("metadata") or {}
    ours = metadata.get("payment_id")
    try:
        payment_id = UUID(str(ours)) if ours else None
    except ValueError:
        payment_id = None
    return ProviderIntent(
        provider_payment_id=pi["id"], provider_status=pi["status"],
        status=from_provider(pi["status"], bool(pi.get("last_payment_error"))),
        amount_centavos=int(pi["amount"]), payment_id=payment_id,
        client_secret=pi.get("client_secret"), created=_time(pi.get("created")),
        pix=PixCode(copy_paste=pix["data"], expires_at=_time(pix.get("expires_at")))
        if pix else None,
        boleto=BoletoVoucher(number=boleto["number"], pdf_url=boleto.get("pdf"),
                             expires_at=_time(boleto.get("expires_at"))) if boleto else None)


class StripeProvider:
    """Stripe (or the fake at `api_base`) through `stripe.StripeClient` on aiohttp."""

    def __init__(self, api_key: str, api_base: str = "", *, name: str = "stripe",
                 timeout_s: float = 10.0, pix_expires_after_s: int = 86400,
                 boleto_expires_after_days: int = 3) -> None:
        self.name = name
        self._http = stripe.AIOHTTPClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            api_key, base_addresses={"api": api_base} if api_base else None,
            http_client=self._http, max_network_retries=2)  # safe: idempotency keys
        self._pix_s = pix_expires_after_s
        self._boleto_days = boleto_expires_after_days

    def params(self, request: IntentRequest) -> dict[str, Any]:
        """The PaymentIntent create parameters (pix and boleto are confirmed at once)."""
        params: dict[str, Any] = {
            "amount": request.amount_centavos, "currency": "brl",
            "payment_method_types": [request.method.value],
            "metadata": {"payment_id": str(request.payment_id),
                         "user_id": str(request.user_id)}}
        if request.method is Method.PIX:
            params.update(confirm=True, payment_method_data={"type": "pix"},
                          payment_method_options={"pix": {
                              "expires_after_seconds": self._pix_s}})
        elif request.method is Method.BOLETO:
            payer = request.payer
            assert payer is not None, "a boleto needs its payer"
            billing: dict[str, Any] = {"name": payer.name}
            if payer.email:
                billing["email"] = payer.email
            params.update(confirm=True, payment_method_data={
                "type": "boleto", "boleto": {"tax_id": payer.tax_id},
                "billing_details": billing},
                payment_method_options={"boleto": {"expires_after_days": self._boleto_days}})
        return params

    async def create_intent(self, request: IntentRequest) -> ProviderIntent:
        try:
            pi = await self._client.v1.payment_intents.create_async(
                self.params(request),  # type: ignore[arg-type]
                {"idempotency_key": request.idempotency_key or payment_key(request.payment_id)})
        except stripe.StripeError as exc:
            raise _failed("create intent", exc) from exc
        return intent_of(pi)

    async def retrieve(self, provider_payment_id: str) -> ProviderIntent:
        try:
            pi = await self._client.v1.payment_intents.retrieve_async(provider_payment_id)
        except stripe.StripeError as exc:
            raise _failed("retrieve intent", exc) from exc
        return intent_of(pi)

    async def recent(self, since: datetime, limit: int) -> list[ProviderIntent]:
        found: list[ProviderIntent] = []
        params: dict[str, Any] = {"limit": min(PAGE, limit),
                                  "created": {"gte": int(since.timestamp())}}
        try:
            while len(found) < limit:
                page = await self._client.v1.payment_intents.list_async(
                    params)  # type: ignore[arg-type]
                found.extend(intent_of(pi) for pi in page.data)
                if not page.has_more or not page.data:
                    break
                params["starting_after"] = page.data[-1]["id"]
        except stripe.StripeError as exc:
            raise _failed("list intents", exc) from exc
        return found[:limit]

    async def refund(self, provider_payment_id: str, amount_centavos: int,
                     refund_id: UUID) -> str:
        try:
            refund = await self._client.v1.refunds.create_async(
                {"payment_intent": provider_payment_id, "amount": amount_centavos,
                 "metadata": {"refund_id": str(refund_id)}},
                {"idempotency_key": refund_key(refund_id)})
        except stripe.StripeError as exc:
            raise _failed("refund", exc) from exc
        return str(refund["id"])

    async def aclose(self) -> None:
        await self._http.close_async()  # type: ignore[no-untyped-call]


def _failed(operation: str, exc: stripe.StripeError) -> ProviderFailed:
    detail = exc.user_message or type(exc).__name__
    return ProviderFailed(operation, str(detail), exc.code)
