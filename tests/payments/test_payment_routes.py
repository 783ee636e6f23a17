"""The top-up routes on PostgreSQL with the fake Stripe: bodies, 422s naming the field, each
method's details, PIX BR Codes made here (payments.pix_provider = "brcode"), the history."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from typing import Any

import pytest

from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.payments import brcode
from sigec_actors.payments.wiring import EXTRAS_KEY, PaymentsWiring, settings_for_test
from tests.payments.conftest import PayEnv, keyed

pytestmark = pytest.mark.pg
INTENT = "/api/v1/payments/intent"
BOLETO = "/api/v1/payments/boleto"
PIX = "/api/v1/payments/pix"
PNG = b"\x89PNG\r\n\x1a\n"
CPF, CNPJ = "529.982.247-25", "11.222.333/0001-81"


async def refused(pay: PayEnv, path: str, body: dict[str, Any]) -> str:
    """The field a 422 names (nothing was stored for it)."""
    got = await pay.api.json("POST", path, "user", status=422, json=body, **keyed())
    assert got["where"] == "body", got
    return str(got["field"])


async def count_payments(pay: PayEnv) -> int:
    async with pay.pool.acquire() as conn:
        return int(await conn.fetchval("SELECT count(*) FROM payments"))


async def test_refused_bodies_name_the_field_and_store_nothing(pay: PayEnv) -> None:
    low, high = pay.wiring.config.min_amount_centavos, pay.wiring.config.max_amount_centavos
    assert await refused(pay, PIX, {"amountCentavos": low - 1}) == "amountCentavos"
    assert await refused(pay, INTENT, {"amountCentavos": high + 1, "method": "card"}
                         ) == "amountCentavos"
    assert await refused(pay, INTENT, {"amountCentavos": 500, "method": "cash"}) == "method"
    assert await refused(pay, BOLETO, {"amountCentavos": 500, "taxId": "529.982.247-26",
                                       "name": "Ana"}) == "taxId"
    assert await refused(pay, BOLETO, {"amountCentavos": 500, "taxId": "11.222.333/0001-82",
                                       "name": "Ana"}) == "taxId"
    assert await refused(pay, INTENT, {"amountCentavos": 500, "method": "boleto",
                                       "name": "Ana"}) == "taxId"
    assert await refused(pay, INTENT, {"amountCentavos": 500, "method": "boleto",
                                       "taxId": CPF}) == "name"
    assert await count_payments(pay) == 0
    assert pay.fake.intents == {}


async def test_each_method_answers_its_details(pay: PayEnv) -> None:
    card = await pay.api.json("POST", INTENT, "user", status=201, **keyed(),
                              json={"amountCentavos": 1000, "method": "card"})
    assert (card["method"], card["status"], card["provider"]) == ("card", "requires_action",
                                                                  "fake")
    assert card["clientSecret"].startswith(card["providerPaymentId"] + "_secret_")
    assert "pix" not in card and "boleto" not in card

    pix = await pay.api.json("POST", INTENT, "user", status=201, **keyed(),
                             json={"amountCentavos": 1234, "method": "pix"})
    code = brcode.parse(pix["pix"]["copyPaste"])  # CRC and fields checked
    assert code.amount_centavos == 1234 and code.url is not None
    assert base64.b64decode(pix["pix"]["qrPng"]).startswith(PNG)
    assert pix["pix"]["expiresAt"]

    for path, body in ((BOLETO, {"amountCentavos": 2000, "taxId": CNPJ, "name": "Posto"}),
                       (INTENT, {"amountCentavos": 2000, "method": "boleto", "taxId": CPF,
                                 "name": "Ana", "email": "ana@example.com"})):
        boleto = await pay.api.json("POST", path, "user", status=201, json=body, **keyed())
        assert boleto["method"] == "boleto" and len(boleto["boleto"]["number"]) == 47
        assert boleto["boleto"]["pdfUrl"] and boleto["boleto"]["expiresAt"]
        sent = pay.fake.intents[boleto["providerPaymentId"]]
        assert sent["metadata"]["payment_id"] == boleto["id"]
    wallet = await pay.balance()
    assert (wallet["balanceCentavos"], wallet["pendingCentavos"]) == (0, 1000 + 1234 + 4000)


async def test_history_pages_the_callers_payments_newest_first(pay: PayEnv) -> None:
    made = [await pay.topup(amount) for amount in (100, 200, 300)]
    await pay.topup(400, who="other")
    first = await pay.api.json("GET", "/api/v1/payments/history?limit=2", "user")
    rest = await pay.api.json("GET", "/api/v1/payments/history?limit=2&offset=2", "user")
    assert (first["total"], rest["total"]) == (3, 3)
    assert [p["id"] for p in first["items"] + rest["items"]] == [p["id"] for p in made[::-1]]


async def test_a_failure_and_a_cancel_queue_payment_failed_once(pay: PayEnv) -> None:
    failed, canceled = await pay.topup(600), await pay.topup(700)
    event = pay.event(failed, "failed")
    assert [await pay.send(event), await pay.send(event)] == [200, 200]  # a redelivery
    assert await pay.send(pay.event(canceled, "canceled")) == 200
    async with pay.pool.acquire() as conn:
        rows = await conn.fetch("SELECT subject, payload FROM event_outbox")
    assert sorted((r["subject"], r["payload"]["paymentId"], r["payload"]["status"])
                  for r in rows) == sorted([("payment.failed", failed["id"], "failed"),
                                            ("payment.failed", canceled["id"], "canceled")])
    got = await pay.api.json("GET", f"/api/v1/payments/{failed['id']}", "user")
    assert got["status"] == "failed" and got["failureReason"]
    wallet = await pay.balance()
    assert (wallet["balanceCentavos"], wallet["pendingCentavos"]) == (0, 0)


@pytest.fixture
async def brcode_pay(pay: PayEnv) -> AsyncIterator[PayEnv]:
    """The same API with payments.pix_provider = "brcode" (a static code paying a CPF key)."""
    settings = settings_for_test(pay.api.ctx.settings, pix_provider="brcode",
                                 pix_key="529.982.247-25", merchant_name="Posto São João",
                                 merchant_city="Ribeirão Preto")
    wiring = PaymentsWiring(settings, pay.pool, PgLedgerRepository(pay.pool), PgAlerts(pay.pool))
    stripe_wiring, pay.api.ctx.extras[EXTRAS_KEY] = pay.api.ctx.extras[EXTRAS_KEY], wiring
    try:
        yield pay
    finally:
        pay.api.ctx.extras[EXTRAS_KEY] = stripe_wiring
        await wiring.aclose()


async def test_pix_without_a_psp_is_a_br_code_made_here(brcode_pay: PayEnv) -> None:
    pay = brcode_pay
    got = await pay.api.json("POST", PIX, "user", status=201, json={"amountCentavos": 4321},
                             **keyed())
    assert (got["provider"], got["method"], got["status"]) == ("brcode", "pix",
                                                               "requires_action")
    code = brcode.parse(got["pix"]["copyPaste"])
    txid = got["id"].replace("-", "")[:25]
    assert (code.key, code.amount_centavos, code.txid) == ("52998224725", 4321, txid)
    assert (code.name, code.city) == ("Posto Sao Joao", "Ribeirao Preto")
    assert got["providerPaymentId"] == txid
    assert base64.b64decode(got["pix"]["qrPng"]).startswith(PNG)
    assert pay.fake.intents == {}  # no PSP was asked
    card = await pay.api.json("POST", INTENT, "user", status=201, **keyed(),
                              json={"amountCentavos": 500, "method": "card"})
    assert card["provider"] == "fake"  # only PIX is made here
    assert (await pay.balance())["pendingCentavos"] == 4321 + 500
