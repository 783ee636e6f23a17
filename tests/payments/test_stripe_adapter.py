"""The real Stripe adapter (stripe.StripeClient) against the Stripe-compatible fake on loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from sigec_actors.adapters.stripe_provider import StripeProvider
from sigec_actors.payments import brcode
from sigec_actors.payments.errors import ProviderFailed
from sigec_actors.payments.fake_stripe import FakeStripe, decode_form, settle
from sigec_actors.payments.lifecycle import PaymentStatus
from sigec_actors.payments.model import IntentRequest, Method, Payer


@pytest.fixture
async def fake() -> AsyncIterator[FakeStripe]:
    server = FakeStripe(api_key="sk_test_fake", webhook_secret="whsec_test")
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def provider(fake: FakeStripe) -> AsyncIterator[StripeProvider]:
    client = StripeProvider("sk_test_fake", fake.url, name="fake")
    yield client
    await client.aclose()


def request(method: Method, amount: int = 5000, **kw: object) -> IntentRequest:
    return IntentRequest(payment_id=uuid4(), user_id=uuid4(), amount_centavos=amount,
                         method=method, **kw)  # type: ignore[arg-type]


def test_form_decoding_matches_stripe_python_encoding() -> None:
    assert decode_form([("payment_method_types[0]", "pix"), ("metadata[payment_id]", "x"),
                        ("payment_method_options[pix][expires_after_seconds]", "60")]) == {
        "payment_method_types": ["pix"], "metadata": {"payment_id": "x"},
        "payment_method_options": {"pix": {"expires_after_seconds": "60"}}}


async def test_pix_intent_carries_a_valid_br_code(provider: StripeProvider,
                                                  fake: FakeStripe) -> None:
    req = request(Method.PIX, 1234)
    intent = await provider.create_intent(req)
    assert intent.status is PaymentStatus.REQUIRES_ACTION
    assert intent.payment_id == req.payment_id
    assert intent.pix is not None and intent.pix.expires_at is not None
    assert brcode.parse(intent.pix.copy_paste).amount_centavos == 1234
    sent = fake.intents[intent.provider_payment_id]
    assert sent["payment_method_types"] == ["pix"] and sent["currency"] == "brl"


async def test_same_payment_id_is_the_same_intent(provider: StripeProvider,
                                                  fake: FakeStripe) -> None:
    req = request(Method.PIX)
    first = await provider.create_intent(req)
    again = await provider.create_intent(req)
    assert again.provider_payment_id == first.provider_payment_id
    assert len(fake.intents) == 1


async def test_boleto_and_card(provider: StripeProvider) -> None:
    boleto = await provider.create_intent(request(
        Method.BOLETO, payer=Payer(tax_id="52998224725", name="Ana", email="a@b.co")))
    assert boleto.boleto is not None and len(boleto.boleto.number) == 47
    card = await provider.create_intent(request(Method.CARD))
    assert card.client_secret and card.status is PaymentStatus.REQUIRES_ACTION


async def test_retrieve_list_and_refund(provider: StripeProvider, fake: FakeStripe) -> None:
    intent = await provider.create_intent(request(Method.PIX, 1000))
    settle(fake.intents[intent.provider_payment_id], "succeeded")
    got = await provider.retrieve(intent.provider_payment_id)
    assert got.status is PaymentStatus.SUCCEEDED
    recent = await provider.recent(datetime.now(UTC) - timedelta(minutes=1), 50)
    assert [i.provider_payment_id for i in recent] == [intent.provider_payment_id]
    first = uuid4()
    refund_id = await provider.refund(intent.provider_payment_id, 400, first)
    assert refund_id == await provider.refund(intent.provider_payment_id, 400, first)  # replay
    with pytest.raises(ProviderFailed) as caught:
        await provider.refund(intent.provider_payment_id, 700, uuid4())
    assert caught.value.code == "amount_too_large"


async def test_failed_attempt_and_wrong_key(fake: FakeStripe, provider: StripeProvider) -> None:
    intent = await provider.create_intent(request(Method.PIX))
    settle(fake.intents[intent.provider_payment_id], "failed")
    assert (await provider.retrieve(intent.provider_payment_id)).status is PaymentStatus.FAILED
    wrong = StripeProvider("sk_test_wrong", fake.url)
    try:
        with pytest.raises(ProviderFailed):
            await wrong.retrieve(intent.provider_payment_id)
    finally:
        await wrong.aclose()
