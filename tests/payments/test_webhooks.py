"""Webhooks through the HTTP route on PostgreSQL: signatures, exactly-once credit, event order."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.payments.conftest import PayEnv, keyed

pytestmark = pytest.mark.pg


async def credits(env: PayEnv, payment_id: str) -> int:
    async with env.pool.acquire() as conn:
        return int(await conn.fetchval(
            "SELECT count(*) FROM journal_entries WHERE source_type = 'payment'"
            " AND source_id = $1", payment_id))


async def test_signature_valid_wrong_secret_and_too_old(pay: PayEnv) -> None:
    payment = await pay.topup(1000)
    event = pay.event(payment, "succeeded")
    assert await pay.send(event, secret="whsec_wrong") == 400
    assert await pay.send(event, timestamp=int(time.time()) - 1000) == 400
    resp = await pay.api.call("POST", "/api/v1/payments/webhooks/stripe", data=b"{}")
    assert resp.status == 400
    assert (await pay.balance())["balanceCentavos"] == 0
    assert await pay.send(event) == 200
    assert (await pay.balance())["balanceCentavos"] == 1000


async def test_one_webhook_replayed_100_times_concurrently_credits_once(pay: PayEnv) -> None:
    payment = await pay.topup(2500)
    assert (await pay.balance())["pendingCentavos"] == 2500
    event = pay.event(payment, "succeeded")
    statuses = await asyncio.gather(*(pay.send(event) for _ in range(100)))
    assert set(statuses) == {200}
    assert await credits(pay, payment["id"]) == 1
    wallet = await pay.balance()
    assert (wallet["balanceCentavos"], wallet["pendingCentavos"]) == (2500, 0)
    async with pay.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ledger_balance_drift") == 0
        subjects = [r["subject"] for r in await conn.fetch(
            "SELECT subject FROM event_outbox WHERE payload->>'paymentId' = $1",
            payment["id"])]
    assert sorted(subjects) == ["payment.completed", "wallet.credited"]


async def test_two_success_events_with_other_ids_still_credit_once(pay: PayEnv) -> None:
    payment = await pay.topup(700)
    first, second = pay.event(payment, "succeeded"), pay.event(payment, "succeeded")
    assert first["id"] != second["id"]
    assert [await pay.send(first), await pay.send(second)] == [200, 200]
    assert await credits(pay, payment["id"]) == 1
    assert (await pay.balance())["balanceCentavos"] == 700


async def test_out_of_order_events_end_in_the_right_state(pay: PayEnv) -> None:
    late_failure = await pay.topup(300)
    failed = pay.event(late_failure, "failed")
    succeeded = pay.event(late_failure, "succeeded")
    assert await pay.send(succeeded) == 200
    assert await pay.send(failed) == 200  # older news: ignored
    got = await pay.api.json("GET", f"/api/v1/payments/{late_failure['id']}", "user")
    assert got["status"] == "succeeded"

    retried = await pay.topup(400)  # Stripe: a failed attempt, then a successful one
    assert await pay.send(pay.event(retried, "failed")) == 200
    assert (await pay.api.json("GET", f"/api/v1/payments/{retried['id']}", "user")
            )["status"] == "failed"
    assert await pay.send(pay.event(retried, "succeeded")) == 200

    canceled = await pay.topup(500)
    cancel = pay.event(canceled, "canceled")
    assert await pay.send(cancel) == 200
    assert await pay.send(pay.event(canceled, "succeeded")) == 200  # never after canceled
    got = await pay.api.json("GET", f"/api/v1/payments/{canceled['id']}", "user")
    assert got["status"] == "canceled"
    assert (await pay.balance())["balanceCentavos"] == 700


async def test_another_users_payment_is_404(pay: PayEnv) -> None:
    payment = await pay.topup(100)
    await pay.api.json("GET", f"/api/v1/payments/{payment['id']}", "other", status=404)
    await pay.api.json("GET", "/api/v1/payments/not-a-uuid", "user", status=404)
    mine = await pay.api.json("GET", f"/api/v1/payments/{payment['id']}", "user")
    assert mine["pix"]["copyPaste"].startswith("000201") and mine["pix"]["qrPng"]
    history = await pay.api.json("GET", "/api/v1/payments/history", "other")
    assert history == {"items": [], "total": 0}


async def test_a_dispute_is_published_once_and_moves_no_money(pay: PayEnv) -> None:
    payment = await pay.topup(1500)
    assert await pay.send(pay.event(payment, "succeeded")) == 200
    dispute = {"id": "dp_test1", "object": "dispute", "amount": 1500, "currency": "brl",
               "charge": "ch_test1", "payment_intent": payment["providerPaymentId"],
               "reason": "fraudulent", "status": "needs_response"}
    event = pay.fake.event("charge.dispute.created", dispute)
    assert [await pay.send(event) for _ in range(3)] == [200, 200, 200]  # retried delivery
    stranger = pay.fake.event("charge.dispute.created", {**dispute, "payment_intent": "pi_x"})
    assert await pay.send(stranger) == 200  # not one of ours: acknowledged, nothing recorded
    async with pay.pool.acquire() as conn:
        rows = await conn.fetch("SELECT payload FROM event_outbox"
                                " WHERE subject = 'payment.disputed'")
    assert [dict(r["payload"]) for r in rows] == [{
        "paymentId": payment["id"], "userId": rows[0]["payload"]["userId"],
        "amountCentavos": 1500, "method": "pix", "provider": payment["provider"],
        "status": "succeeded", "disputeId": "dp_test1", "disputedCentavos": 1500,
        "reason": "fraudulent"}]
    assert (await pay.balance())["balanceCentavos"] == 1500  # the operator decides
    got = await pay.api.json("GET", f"/api/v1/payments/{payment['id']}", "user")
    assert got["status"] == "succeeded"


async def test_older_news_does_not_reopen_a_failed_payment(pay: PayEnv) -> None:
    """Stripe does not order deliveries: a `processing` sent before the failure but delivered
    after it must not put the payment back to pending; the intent's state now decides."""
    card = await pay.api.json("POST", "/api/v1/payments/intent", "user", status=201,
                              json={"amountCentavos": 800, "method": "card"}, **keyed())
    intent = pay.fake.intents[card["providerPaymentId"]]
    processing = pay.fake.event("payment_intent.processing", dict(intent, status="processing"))
    assert await pay.send(pay.event(card, "failed")) == 200
    assert await pay.send(processing) == 200  # late
    got = await pay.api.json("GET", f"/api/v1/payments/{card['id']}", "user")
    assert got["status"] == "failed"
    assert (await pay.balance())["pendingCentavos"] == 0

    intent.update(status="processing", last_payment_error=None)  # a second attempt, in order
    assert await pay.send(pay.fake.event("payment_intent.processing", dict(intent))) == 200
    got = await pay.api.json("GET", f"/api/v1/payments/{card['id']}", "user")
    assert got["status"] == "processing"
    assert await pay.send(pay.event(card, "succeeded")) == 200
    assert (await pay.balance())["balanceCentavos"] == 800
