"""Reconciliation's differences one by one: the pure comparison, then a round against the fake
Stripe on PostgreSQL (what is applied, what is only alerted, one alert per difference)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from uuid import UUID, uuid4

import pytest

from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.alerts.model import AlertFilter
from sigec_actors.payments.fake_stripe import settle
from sigec_actors.payments.lifecycle import PaymentStatus as S
from sigec_actors.payments.model import Payment, ProviderIntent
from sigec_actors.payments.reconcile import compare
from tests.payments.conftest import PayEnv, keyed

PID = UUID(int=1)


def ours(status: S, amount: int = 1000) -> Payment:
    now = datetime(2026, 3, 1, tzinfo=UTC)
    return Payment(id=PID, user_id=UUID(int=2), provider="stripe", provider_payment_id="pi_1",
                   method="pix", amount_centavos=amount, currency="BRL", status=status,
                   refunded_centavos=0, journal_entry_id=None, failure_reason=None, metadata={},
                   created_at=now, updated_at=now)


def theirs(status: S, amount: int = 1000) -> ProviderIntent:
    return ProviderIntent(provider_payment_id="pi_1", provider_status=status.value,
                          status=status, amount_centavos=amount, payment_id=PID)


@pytest.mark.parametrize(("mine", "provider", "kind"), [
    (None, theirs(S.SUCCEEDED), "unknown_payment"),
    (ours(S.REQUIRES_ACTION), theirs(S.SUCCEEDED, amount=999), "amount_mismatch"),
    (ours(S.SUCCEEDED), theirs(S.SUCCEEDED, amount=999), "amount_mismatch"),
    (ours(S.REQUIRES_ACTION), theirs(S.SUCCEEDED), "missed_success"),
    (ours(S.FAILED), theirs(S.SUCCEEDED), "missed_success"),  # a later attempt succeeded
    (ours(S.PROCESSING), theirs(S.FAILED), "missed_failure"),
    (ours(S.REQUIRES_ACTION), theirs(S.CANCELED), "missed_cancel"),
    (ours(S.SUCCEEDED), theirs(S.CANCELED), "paid_here_not_there"),
    (ours(S.REFUNDED), theirs(S.FAILED), "paid_here_not_there"),
    (ours(S.SUCCEEDED), theirs(S.SUCCEEDED), None),
    (ours(S.PARTIALLY_REFUNDED), theirs(S.SUCCEEDED), None),  # Stripe's stays succeeded
    (ours(S.REQUIRES_ACTION), theirs(S.REQUIRES_ACTION), None),
    (ours(S.FAILED), theirs(S.FAILED), None),
    (ours(S.CANCELED), theirs(S.CANCELED), None),
])
def test_compare_names_each_difference(mine: Payment | None, provider: ProviderIntent,
                                       kind: str | None) -> None:
    found = compare(mine, provider)
    assert (found.kind if found else None) == kind
    if found is not None:
        assert (found.payment_id, found.provider_payment_id) == (str(PID), "pi_1")
        assert found.theirs == provider.provider_status


async def outbox(pay: PayEnv, subject: str) -> list[str]:
    async with pay.pool.acquire() as conn:
        rows = await conn.fetch("SELECT payload->>'paymentId' AS p FROM event_outbox"
                                " WHERE subject = $1 ORDER BY id", subject)
    return [r["p"] for r in rows]


@pytest.mark.pg
async def test_a_round_applies_missed_outcomes_and_only_alerts_the_rest(pay: PayEnv) -> None:
    failed, canceled, short = [await pay.topup(a) for a in (300, 400, 500)]
    refunded_there = await pay.topup(600)
    assert await pay.send(pay.event(refunded_there, "succeeded")) == 200
    intents = pay.fake.intents
    settle(intents[failed["providerPaymentId"]], "failed")  # webhooks lost
    settle(intents[canceled["providerPaymentId"]], "canceled")
    settle(intents[short["providerPaymentId"]], "succeeded")
    intents[short["providerPaymentId"]]["amount"] = 499  # paid, but not what we asked
    settle(intents[refunded_there["providerPaymentId"]], "canceled")
    stranger = dict(intents[failed["providerPaymentId"]], id="pi_fake" + secrets.token_hex(10),
                    metadata={"payment_id": str(uuid4())})
    someone_elses = dict(stranger, id="pi_fake" + secrets.token_hex(10), metadata={})
    intents.update({stranger["id"]: stranger, someone_elses["id"]: someone_elses})

    found = await pay.wiring.reconciler.run_once()
    assert sorted((d.kind, d.provider_payment_id) for d in found) == sorted([
        ("missed_failure", failed["providerPaymentId"]),
        ("missed_cancel", canceled["providerPaymentId"]),
        ("amount_mismatch", short["providerPaymentId"]),
        ("paid_here_not_there", refunded_there["providerPaymentId"]),
        ("unknown_payment", stranger["id"])])
    status = {p["id"]: (await pay.api.json("GET", f"/api/v1/payments/{p['id']}", "user")
                        )["status"] for p in (failed, canceled, short, refunded_there)}
    assert status == {failed["id"]: "failed", canceled["id"]: "canceled",
                      short["id"]: "requires_action", refunded_there["id"]: "succeeded"}
    wallet = await pay.balance()  # nothing credited or taken back by a round
    assert (wallet["balanceCentavos"], wallet["pendingCentavos"]) == (600, 500)
    assert sorted(await outbox(pay, "payment.failed")) == sorted([failed["id"], canceled["id"]])

    again = await pay.wiring.reconciler.run_once()  # applied ones are settled now
    assert sorted(d.kind for d in again) == ["amount_mismatch", "paid_here_not_there",
                                             "unknown_payment"]
    alerts = (await PgAlerts(pay.pool).page(AlertFilter(), 20, 0)).items
    assert sorted(a.details["kind"] for a in alerts) == sorted(
        ["missed_failure", "missed_cancel", "amount_mismatch", "paid_here_not_there",
         "unknown_payment"])  # one per difference, however many rounds saw it
    assert {a.kind for a in alerts} == {"payment_mismatch"}


@pytest.mark.pg
async def test_a_second_lost_failure_of_the_same_intent_is_applied_too(pay: PayEnv) -> None:
    """Two card attempts fail and both failure webhooks are lost: the provider reports the same
    status both times, and the second round must still apply it (not take it for a replay)."""
    card = await pay.api.json("POST", "/api/v1/payments/intent", "user", status=201,
                              json={"amountCentavos": 900, "method": "card"}, **keyed())
    intent = pay.fake.intents[card["providerPaymentId"]]

    async def status() -> str:
        got = await pay.api.json("GET", f"/api/v1/payments/{card['id']}", "user")
        return str(got["status"])

    settle(intent, "failed")
    assert [d.kind for d in await pay.wiring.reconciler.run_once()] == ["missed_failure"]
    assert await status() == "failed"
    intent.update(status="processing", last_payment_error=None)  # the second attempt
    assert await pay.send(pay.fake.event("payment_intent.processing", dict(intent))) == 200
    assert await status() == "processing"
    settle(intent, "failed")
    assert [d.kind for d in await pay.wiring.reconciler.run_once()] == ["missed_failure"]
    assert await status() == "failed"
    assert (await pay.balance())["pendingCentavos"] == 0
