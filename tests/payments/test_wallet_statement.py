"""GET /wallet/transactions on PostgreSQL: a billed charging session is a `charge` line, a refund
the provider refuses is put back by a `reversal` line, a refund the wallet cannot cover is 409."""

from __future__ import annotations

from uuid import UUID

import pytest

from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.domain.records import IdTokenType
from sigec_actors.transactions.billing import BillingService
from tests.payments.conftest import PayEnv, keyed
from tests.payments.test_refunds_reconcile import paid
from tests.transactions.builders import T0, session
from tests.transactions.conftest import new_station, pg_world

pytestmark = pytest.mark.pg
REFUND = "/api/v1/admin/payments/{}/refund"


async def statement(pay: PayEnv) -> list[tuple[str, int, int, str]]:
    page = await pay.api.json("GET", "/api/v1/wallet/transactions?limit=10", "user")
    assert page["total"] == len(page["items"])
    return [(i["kind"], i["amountCentavos"], i["balanceAfterCentavos"], i["reference"])
            for i in page["items"]]


async def charge(pay: PayEnv, kwh: int) -> str:
    """A charging session of the API's `user`, billed to the wallet by the real billing; its
    journal source id."""
    world = pg_world(pay.pool, billing=BillingService(PgLedgerRepository(pay.pool)))
    station = await new_station(pay.pool)
    await world.tokens.add(UUID(pay.api.ids["user"]), "CARD-WALLET", IdTokenType.ISO14443)
    for request in session(token="CARD-WALLET", kwh=kwh):
        await world.service.handle_event(station, request, T0)
    return f"{station}/tx-1"


async def test_a_billed_charging_session_is_a_charge_line(pay: PayEnv) -> None:
    payment = await paid(pay, 5000)
    source = await charge(pay, kwh=10)  # 10 kWh x 150 + 100 fee = 1600 (pg_world's tariff)
    assert await statement(pay) == [
        ("charge", -1600, 3400, f"charging_session:{source}"),
        ("topup", 5000, 5000, f"payment:{payment['id']}")]
    assert (await pay.balance())["balanceCentavos"] == 3400


async def test_a_refund_the_provider_refuses_is_reversed(pay: PayEnv) -> None:
    payment = await paid(pay, 1000)
    del pay.fake.intents[payment["providerPaymentId"]]  # the PSP answers 404 to the refund
    got = await pay.api.json("POST", REFUND.format(payment["id"]), "admin", status=502,
                             json={"amountCentavos": 400}, **keyed())
    assert got["status"] == 502
    lines = await statement(pay)
    assert [line[:3] for line in lines] == [("reversal", 400, 1000), ("refund", -400, 600),
                                            ("topup", 1000, 1000)]
    after = await pay.api.json("GET", f"/api/v1/payments/{payment['id']}", "user")
    assert (after["status"], after["refundedCentavos"]) == ("succeeded", 0)
    async with pay.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM ledger_balance_drift") == 0
        refund = await conn.fetchrow("SELECT status, failure_reason FROM payment_refunds")
        events = await conn.fetch(
            "SELECT o.subject, o.payload->>'amountCentavos' AS amount, j.source_type"
            " FROM event_outbox o JOIN journal_entries j"
            " ON j.id = (o.payload->>'journalEntryId')::uuid"
            " WHERE o.subject LIKE 'wallet.%' ORDER BY o.seq")
    assert refund["status"] == "failed" and refund["failure_reason"]
    assert [tuple(e) for e in events] == [("wallet.credited", "1000", "payment"),
                                          ("wallet.debited", "400", "refund"),
                                          ("wallet.credited", "400", "refund_reversal")]


async def test_a_refund_the_wallet_no_longer_holds_is_409(pay: PayEnv) -> None:
    payment = await paid(pay, 2000)
    await charge(pay, kwh=10)  # 1600 spent: 400 left
    url = REFUND.format(payment["id"])
    await pay.api.json("POST", url, "admin", status=409, json={}, **keyed())
    assert (await pay.balance())["balanceCentavos"] == 400
    part = await pay.api.json("POST", url, "admin", status=200, json={"amountCentavos": 400},
                              **keyed())
    assert part["payment"]["status"] == "partially_refunded"
    assert (await pay.balance())["balanceCentavos"] == 0
    assert len(pay.fake.refunds) == 1
