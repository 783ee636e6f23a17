"""Idempotency-Key on the money-moving POSTs, through the HTTP routes on real PostgreSQL."""

from __future__ import annotations

import asyncio
from uuid import UUID

import pytest

from tests.payments.conftest import PayEnv, keyed

pytestmark = pytest.mark.pg
PIX = "/api/v1/payments/pix"
INTENT = "/api/v1/payments/intent"
REFUND = "/api/v1/admin/payments/{}/refund"


async def count(pay: PayEnv, sql: str, *args: object) -> int:
    async with pay.pool.acquire() as conn:
        return int(await conn.fetchval(sql, *args))


async def forget_answers(pay: PayEnv) -> None:
    """What a retry after the stored answer is gone sees (a node died mid-request and the
    claim was taken over, or the key expired): only the payment rows remember."""
    async with pay.pool.acquire() as conn:
        await conn.execute("DELETE FROM idempotency_keys")


async def test_the_header_is_required_on_every_money_moving_post(pay: PayEnv) -> None:
    for path, body in ((PIX, {"amountCentavos": 500}),
                       (INTENT, {"amountCentavos": 500, "method": "card"}),
                       ("/api/v1/payments/boleto", {"amountCentavos": 500,
                                                    "taxId": "529.982.247-25", "name": "A"})):
        got = await pay.api.json("POST", path, "user", status=422, json=body)
        assert (got["field"], got["where"]) == ("Idempotency-Key", "header"), got
    paid = await pay.topup(700)
    got = await pay.api.json("POST", REFUND.format(paid["id"]), "admin", status=422, json={})
    assert got["field"] == "Idempotency-Key"
    assert await count(pay, "SELECT count(*) FROM payments") == 1


async def test_same_key_and_body_twice_is_one_payment_and_the_same_answer(pay: PayEnv) -> None:
    first = await pay.api.call("POST", PIX, "user", json={"amountCentavos": 900},
                               **keyed("topup-1"))
    again = await pay.api.call("POST", PIX, "user", json={"amountCentavos": 900},
                               **keyed("topup-1"))
    assert (first.status, again.status) == (201, 201)
    assert await first.read() == await again.read()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert await count(pay, "SELECT count(*) FROM payments") == 1
    assert len(pay.fake.intents) == 1
    other = await pay.api.json("POST", PIX, "user", status=422, json={"amountCentavos": 901},
                               **keyed("topup-1"))
    assert other["field"] == "Idempotency-Key"
    assert await count(pay, "SELECT count(*) FROM payments") == 1


async def test_concurrent_same_key_intents_make_one_payment(pay: PayEnv) -> None:
    answers = await asyncio.gather(*(pay.api.call(
        "POST", INTENT, "user", json={"amountCentavos": 1200, "method": "pix"},
        **keyed("same-key")) for _ in range(12)))
    statuses = [r.status for r in answers]
    assert set(statuses) <= {201, 409} and 201 in statuses, statuses
    ids = {(await r.json())["id"] for r in answers if r.status == 201}
    assert len(ids) == 1
    assert await count(pay, "SELECT count(*) FROM payments WHERE idempotency_key = $1",
                       "same-key") == 1
    assert len(pay.fake.intents) == 1


async def test_a_retry_without_the_stored_answer_finds_the_same_payment(pay: PayEnv) -> None:
    first = await pay.api.json("POST", PIX, "user", status=201, json={"amountCentavos": 800},
                               **keyed("lost-answer"))
    await forget_answers(pay)
    again = await pay.api.json("POST", PIX, "user", status=201, json={"amountCentavos": 800},
                               **keyed("lost-answer"))
    assert again["id"] == first["id"] and again["providerPaymentId"] == first["providerPaymentId"]
    assert await count(pay, "SELECT count(*) FROM payments") == 1
    assert len(pay.fake.intents) == 1
    await forget_answers(pay)
    other = await pay.api.json("POST", PIX, "user", status=422, json={"amountCentavos": 801},
                               **keyed("lost-answer"))
    assert other["field"] == "Idempotency-Key"


async def test_a_retry_after_a_death_before_the_provider_answered(pay: PayEnv) -> None:
    """The first attempt inserted the payment and died: the retry finishes that payment."""
    user = UUID(pay.api.ids["user"])
    stuck = await pay.wiring.store.insert(UUID(int=7), user, pay.wiring.provider.name,
                                            "pix", 600, "died")
    got = await pay.api.json("POST", PIX, "user", status=201, json={"amountCentavos": 600},
                             **keyed("died"))
    assert got["id"] == str(stuck.id) and got["providerPaymentId"]
    assert got["pix"]["copyPaste"]
    assert await count(pay, "SELECT count(*) FROM payments") == 1


async def test_refund_with_the_same_key_twice_refunds_once(pay: PayEnv) -> None:
    payment = await pay.topup(1000)
    assert await pay.send(pay.event(payment, "succeeded")) == 200
    url = REFUND.format(payment["id"])
    first = await pay.api.json("POST", url, "admin", json={"amountCentavos": 300},
                               **keyed("refund-1"))
    again = await pay.api.json("POST", url, "admin", json={"amountCentavos": 300},
                               **keyed("refund-1"))
    assert again == first
    await forget_answers(pay)
    after_loss = await pay.api.json("POST", url, "admin", json={"amountCentavos": 300},
                                    **keyed("refund-1"))
    assert after_loss["id"] == first["id"]
    assert len(pay.fake.refunds) == 1
    assert await count(pay, "SELECT count(*) FROM payment_refunds") == 1
    assert (await pay.balance())["balanceCentavos"] == 700
