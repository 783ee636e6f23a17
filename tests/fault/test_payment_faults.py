"""PostgreSQL killed mid-payment (goal F1) on a real node: while the node's backends are
terminated every 20-150 ms (those serving a statement or a transaction, then all), a user asks
for PIX top-ups (POST /payments/pix with an Idempotency-Key), the fake provider's signed
`payment_intent.succeeded` webhooks are delivered, and an admin refunds part of some payments
(POST /admin/payments/{id}/refund with an Idempotency-Key). Every request is answered, with
its success or 503 (never a 500, never a hang); once the kills stop, a retry with the same key
or the same event completes, exactly once: one payment and one provider intent per key, one
credit per payment, one refund and one debit per refund key. Every balance equals the sum of
its postings (ledger_balance_drift is empty) and every journal entry balances."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from sigec_actors.embedded import EmbeddedNats
from sigec_actors.payments.wiring import FAKE_KEY_FILE, SIGNING_FILE
from tests.fault.conftest import report, start_node
from tests.fault.money import (
    Killer,
    Send,
    Webhooks,
    answered,
    fake_call,
    ledger_facts,
    running,
    statuses,
    until_done,
)
from tests.helpers.server import Api

pytestmark = [pytest.mark.pg, pytest.mark.nats, pytest.mark.slow]
LOGIN = ("crash@example.com", "crash test passphrase")  # tests.e2e._seed
AMOUNT, REFUND = 1000, 300
STAGGER_S = 0.15  # between two requests' first attempts, so the kills land at many points


async def _under_kills(dsn: str, seed: int, sends: list[Send], ok: frozenset[int]
                       ) -> tuple[list[tuple[int, Any]], dict[str, int]]:
    """Each send twice (0.4 s apart, the client retrying with the same key or event) while the
    killer runs; every answer is a success, 503, or 409 (the same key still running)."""
    killer = Killer(dsn, seed)
    task = asyncio.create_task(killer.run())

    async def twice(i: int, send: Send) -> list[tuple[int, Any]]:
        await asyncio.sleep(0.1 + i * STAGGER_S)
        first = asyncio.create_task(answered(send))
        await asyncio.sleep(0.4)
        return [await first, await answered(send)]

    try:
        seen = [a for pair in await asyncio.gather(*(twice(i, s) for i, s in enumerate(sends)))
                for a in pair]
    finally:
        killer.stop.set()
        await task
    bad = [(status, body) for status, body in seen
           if status not in ok | {503} and not running(status, body)]
    assert not bad, f"answered other than success or 503 (0 = no answer in 30 s): {bad[:3]}"
    return seen, killer.report()


async def _completed(sends: list[Send], ok: frozenset[int]) -> tuple[list[Any], int]:
    """Every send retried to completion after the kills: (bodies, attempts in all)."""
    done = await asyncio.gather(*(until_done(s, ok) for s in sends))
    return [body for _, body, _ in done], sum(n for _, _, n in done)


@pytest.mark.parametrize("payments", [pytest.param(10, id="ci"),
                                      pytest.param(60, id="soak", marks=pytest.mark.soak)])
async def test_postgres_killed_mid_payment_moves_money_exactly_once(
        tmp_path: Path, fresh_pg_dsn: str, nats_server: EmbeddedNats, payments: int) -> None:
    assert nats_server.url is not None
    node = await start_node(tmp_path, fresh_pg_dsn, nats_server.url, stations=0,
                            # a kill can land after a claim committed but before its result
                            # came back (the request is 503, the key stays claimed): such a
                            # claim is taken over after the lock timeout, shortened here
                            SIGEC_PAYMENTS__IDEMPOTENCY_LOCK_TIMEOUT_S="2")
    data = node.server.data_dir
    fake, fake_key = node.server.runtime["paymentsFakeUrl"], (data / FAKE_KEY_FILE).read_text()
    phases: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession() as http:
            user, admin = Api(node.server.http, http), Api(node.server.http, http)
            await user.login(*LOGIN)
            await admin.login()
            amounts = [AMOUNT + i for i in range(payments)]  # each payment its own amount

            def intent(i: int) -> Send:
                return lambda: user.call("POST", "/api/v1/payments/pix",
                                         {"amountCentavos": amounts[i]},
                                         {"Idempotency-Key": f"f1-topup-{i}"})

            intents = [intent(i) for i in range(payments)]
            seen, injected = await _under_kills(fresh_pg_dsn, 1, intents, frozenset({201}))
            made, attempts = await _completed(intents, frozenset({201}))
            phases["topup"] = {"injected": injected, "during": statuses([s for s, _ in seen]),
                               "attempts_after": attempts}
            first = {b["amountCentavos"]: b["id"] for s, b in seen if s == 201}
            assert all(first.get(p["amountCentavos"], p["id"]) == p["id"] for p in made)
            listed = await fake_call(http, fake, fake_key.strip(), "GET",
                                     "/v1/payment_intents?limit=100")
            at_psp = [i["metadata"]["payment_id"] for i in listed["data"]]
            assert sorted(at_psp) == sorted(p["id"] for p in made), "a second intent at the PSP"

            events = [(await fake_call(http, fake, fake_key.strip(), "POST",
                                       f"/_fake/payment_intents/{p['id']}/outcome",
                                       {"outcome": "succeeded", "deliver": False}))["event"]
                      for p in made]
            hooks = Webhooks(http, node.server.http, (data / SIGNING_FILE).read_text().strip())
            deliveries = [hooks.sender(e) for e in events]
            seen, injected = await _under_kills(fresh_pg_dsn, 2, deliveries, frozenset({200}))
            _, attempts = await _completed(deliveries, frozenset({200}))
            phases["webhook"] = {"injected": injected, "during": statuses([s for s, _ in seen]),
                                 "attempts_after": attempts}
            for p in made:  # each success applied (credited) before anything is refunded
                status, got = await user.call("GET", f"/api/v1/payments/{p['id']}")
                assert (status, got["status"]) == (200, "succeeded"), got

            def refund(i: int) -> Send:
                return lambda: admin.call("POST", f"/api/v1/admin/payments/{made[i]['id']}"
                                          "/refund", {"amountCentavos": REFUND},
                                          {"Idempotency-Key": f"f1-refund-{i}"})

            refunds = [refund(i) for i in range(0, payments, 2)]
            seen, injected = await _under_kills(fresh_pg_dsn, 3, refunds, frozenset({200}))
            _, attempts = await _completed(refunds, frozenset({200}))
            phases["refund"] = {"injected": injected, "during": statuses([s for s, _ in seen]),
                                "attempts_after": attempts}
            status, wallet = await user.call("GET", "/api/v1/wallet")
            assert status == 200, wallet
    finally:
        node.server.kill()
    facts = await ledger_facts(fresh_pg_dsn)
    report("pg-killed-mid-payment", phases=phases, payments=payments,
           refunds=len(refunds), processed_webhooks=facts["processed_webhooks"],
           wallet_centavos=wallet["balanceCentavos"])
    _check_money(facts, payments, len(refunds), sum(amounts) - REFUND * len(refunds), wallet)


def _check_money(facts: dict[str, Any], payments: int, refunds: int, expected: int,
                 wallet: dict[str, Any]) -> None:
    assert facts["drift"] == [], facts["drift"]  # every balance is the sum of its postings
    assert facts["unbalanced"] == [], facts["unbalanced"]
    rows = facts["payments"]
    assert sorted(r["idempotency_key"] for r in rows) == sorted(
        f"f1-topup-{i}" for i in range(payments)), "a key made no payment, or two"
    for row in rows:  # credited once, and its state agrees with the ledger
        assert row["topups"] == 1 and row["journal_entry_id"] is not None, row
        refunded = sum(r["amount_centavos"] for r in facts["refunds"]
                       if r["payment_id"] == row["id"])
        assert row["refunded_centavos"] == refunded, row
        assert row["status"] == ("partially_refunded" if refunded else "succeeded"), row
    assert sorted(r["idempotency_key"] for r in facts["refunds"]) == sorted(
        f"f1-refund-{i}" for i in range(0, payments, 2)), "a refund key refunded twice, or none"
    assert len(facts["refunds"]) == refunds
    for row in facts["refunds"]:  # debited once, finished at the provider
        assert row["debits"] == 1 and row["status"] == "succeeded", row
    (account,) = facts["wallets"]
    assert account["balance_centavos"] == account["posted"] == expected, account
    assert (wallet["balanceCentavos"], wallet["pendingCentavos"]) == (expected, 0), wallet
