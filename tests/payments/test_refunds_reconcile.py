"""Refunds (partial, full, once) and reconciliation catching a dropped webhook, on PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.alerts.model import AlertFilter
from sigec_actors.payments.fake_stripe import settle
from sigec_actors.payments.reconcile import Reconciler
from tests.payments.conftest import PayEnv, keyed

pytestmark = pytest.mark.pg
REFUND = "/api/v1/admin/payments/{}/refund"


async def paid(pay: PayEnv, amount: int) -> dict:
    payment = await pay.topup(amount)
    assert await pay.send(pay.event(payment, "succeeded")) == 200
    return payment


async def test_partial_then_full_refund_once(pay: PayEnv) -> None:
    payment = await paid(pay, 1000)
    url = REFUND.format(payment["id"])
    await pay.api.json("POST", url, "user", status=403, json={"amountCentavos": 100}, **keyed())
    part = await pay.api.json("POST", url, "admin", json={"amountCentavos": 300}, **keyed())
    assert part["status"] == "succeeded" and part["payment"]["status"] == "partially_refunded"
    await pay.api.json("POST", url, "admin", status=409, json={"amountCentavos": 800}, **keyed())
    rest = await pay.api.json("POST", url, "admin", json={}, **keyed())
    assert rest["amountCentavos"] == 700 and rest["payment"]["status"] == "refunded"
    await pay.api.json("POST", url, "admin", status=409, json={}, **keyed())
    wallet = await pay.balance()
    assert wallet["balanceCentavos"] == 0
    lines = await pay.api.json("GET", "/api/v1/wallet/transactions", "user")
    assert [i["kind"] for i in lines["items"]] == ["refund", "refund", "topup"]
    audited = await pay.audit.recent(10, target_type="payment", target_id=payment["id"])
    assert [a.entry.action for a in audited] == ["payment.refund", "payment.refund"]


async def test_concurrent_full_refunds_refund_once(pay: PayEnv) -> None:
    payment = await paid(pay, 900)
    url = REFUND.format(payment["id"])
    answers = await asyncio.gather(*(pay.api.call("POST", url, "admin", json={}, **keyed())
                                     for _ in range(5)))
    assert sorted(r.status for r in answers) == [200, 409, 409, 409, 409]
    assert len([r for r in pay.fake.refunds.values()
                if r["payment_intent"] == payment["providerPaymentId"]]) == 1


async def test_refund_of_an_unpaid_payment_is_409(pay: PayEnv) -> None:
    payment = await pay.topup(500)
    await pay.api.json("POST", REFUND.format(payment["id"]), "admin", status=409, json={}, **keyed())


async def test_reconciliation_applies_a_dropped_webhook_once(pay: PayEnv) -> None:
    dropped = await pay.topup(1500)
    settle(pay.fake.intents[dropped["providerPaymentId"]], "succeeded")  # no webhook sent
    fine = await paid(pay, 200)
    assert fine["id"] != dropped["id"]
    assert (await pay.balance())["balanceCentavos"] == 200
    found = await pay.wiring.reconciler.run_once()
    assert [(d.kind, d.payment_id) for d in found] == [("missed_success", dropped["id"])]
    assert (await pay.balance())["balanceCentavos"] == 1700
    assert await pay.wiring.reconciler.run_once() == []  # nothing left to correct
    late = pay.fake.event("payment_intent.succeeded",
                          pay.fake.intents[dropped["providerPaymentId"]])
    assert await pay.send(late) == 200  # the webhook arriving after all: no second credit
    assert (await pay.balance())["balanceCentavos"] == 1700
    alerts = await PgAlerts(pay.pool).page(AlertFilter(), 10, 0)
    assert [a.kind for a in alerts.items] == ["payment_mismatch"]


def reconciler(pay: PayEnv, later_s: float, stale_after_s: float = 86_400.0) -> Reconciler:
    """The job as it runs `later_s` seconds from now (the fake lists by real creation time)."""
    now = datetime.now(UTC) + timedelta(seconds=later_s)
    return Reconciler(pay.wiring.store, pay.wiring.provider, PgAlerts(pay.pool),
                      window_s=3_600.0, clock=lambda: now, stale_after_s=stale_after_s)


async def test_reconciliation_flags_our_open_payments_the_provider_lacks(pay: PayEnv) -> None:
    lost = await pay.topup(1100)
    kept = await pay.topup(1200)
    del pay.fake.intents[lost["providerPaymentId"]]  # the provider has no such intent
    assert await reconciler(pay, later_s=0).run_once() == []  # inside the grace: not yet
    found = await reconciler(pay, later_s=120).run_once()
    assert [(d.kind, d.payment_id) for d in found] == [("missing_at_provider", lost["id"])]
    await reconciler(pay, later_s=180).run_once()  # the same difference: the same alert
    alerts = await PgAlerts(pay.pool).page(AlertFilter(), 10, 0)
    assert [(a.kind, a.details["payment_id"]) for a in alerts.items] == [
        ("payment_mismatch", lost["id"])]
    stale = await reconciler(pay, later_s=600, stale_after_s=300).run_once()
    assert sorted((d.kind, d.payment_id) for d in stale) == sorted(
        [("stale_open", lost["id"]), ("stale_open", kept["id"])])
    assert (await pay.balance())["balanceCentavos"] == 0  # alerts only: no money moves
