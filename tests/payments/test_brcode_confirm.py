"""PIX BR Codes made here (payments.pix_provider = "brcode") on PostgreSQL through the routes:
they expire, an admin confirms one from the bank statement (credited once), the expiry job
cancels old ones and they leave pendingCentavos."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from api.idempotency import REPLAYED
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.payments.wiring import EXTRAS_KEY, PaymentsWiring, settings_for_test
from tests.payments.conftest import PayEnv, keyed
from tests.payments.test_webhooks import credits as topups

pytestmark = pytest.mark.pg
PIX = "/api/v1/payments/pix"
CONFIRM = "/api/v1/admin/payments/{}/confirm"
DAY = 86_400


class Now:
    """The payments' clock: real time, moved on by the test."""

    def __init__(self) -> None:
        self.at = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Offline:
    pay: PayEnv
    clock: Now
    wiring: PaymentsWiring

    async def code(self, amount: int = 4321, who: str = "user") -> dict[str, Any]:
        got: dict[str, Any] = await self.pay.api.json(
            "POST", PIX, who, status=201, json={"amountCentavos": amount}, **keyed())
        assert got["provider"] == "brcode", got
        return got

    async def confirm(self, payment: dict[str, Any], e2e: str, amount: int | None = None,
                      who: str = "admin", key: str | None = None) -> tuple[int, Any]:
        resp = await self.pay.api.call(
            "POST", CONFIRM.format(payment["id"]), who, **keyed(key),
            json={"endToEndId": e2e, "amountCentavos": amount or payment["amountCentavos"]})
        return resp.status, await resp.json(content_type=None)


def e2e(seq: str, at: datetime | None = None) -> str:
    """A PIX end-to-end id: E, an ISPB, the UTC minute, 11 letters or digits."""
    return f"E18236120{(at or datetime.now(UTC)):%Y%m%d%H%M}{seq:0>11}"


@pytest.fixture
async def offline(pay: PayEnv) -> AsyncIterator[Offline]:
    """The API with pix_provider = "brcode" (a static code paying a CPF key), a 24 h expiry,
    the expiry job every 50 ms once started, and a clock the test moves."""
    settings = settings_for_test(pay.api.ctx.settings, pix_provider="brcode",
                                 pix_key="529.982.247-25", brcode_expiry_s=DAY,
                                 brcode_expire_check_s=0.05)
    clock = Now()
    wiring = PaymentsWiring(settings, pay.pool, PgLedgerRepository(pay.pool),
                            PgAlerts(pay.pool), clock)
    stripe_wiring, pay.api.ctx.extras[EXTRAS_KEY] = pay.api.ctx.extras[EXTRAS_KEY], wiring
    try:
        yield Offline(pay, clock, wiring)
    finally:
        pay.api.ctx.extras[EXTRAS_KEY] = stripe_wiring
        await wiring.aclose()


async def outbox(pay: PayEnv, payment_id: str) -> list[tuple[str, Any]]:
    async with pay.pool.acquire() as conn:
        rows = await conn.fetch("SELECT subject, payload FROM event_outbox WHERE"
                                " payload ->> 'paymentId' = $1 ORDER BY seq",
                                payment_id)
    return [(r["subject"], r["payload"]) for r in rows]


async def test_a_confirm_credits_once_and_a_replay_is_the_same_bytes(offline: Offline) -> None:
    pay = offline.pay
    code = await offline.code(4321)
    expires = datetime.fromisoformat(code["pix"]["expiresAt"])
    assert expires == offline.clock.at + timedelta(seconds=DAY)
    assert (await pay.balance())["pendingCentavos"] == 4321

    key, transfer = "confirm-1", e2e("a1B2c3D4e5F")
    first = await pay.api.call("POST", CONFIRM.format(code["id"]), "admin", **keyed(key),
                               json={"endToEndId": transfer, "amountCentavos": 4321})
    body = await first.read()
    assert first.status == 200, body
    done = msgspec.json.decode(body)
    assert (done["status"], done["endToEndId"]) == ("succeeded", transfer)
    again = await pay.api.call("POST", CONFIRM.format(code["id"]), "admin", **keyed(key),
                               json={"endToEndId": transfer, "amountCentavos": 4321})
    assert (again.status, await again.read(), again.headers.get(REPLAYED)) == (
        200, body, "true")
    # the same transfer under another key: the payment again, nothing credited again
    status, same = await offline.confirm(code, transfer)
    assert (status, same["status"]) == (200, "succeeded")
    # another transfer for a payment already confirmed: 409 saying so
    status, refused = await offline.confirm(code, e2e("00000000002"))
    assert (status, refused["state"]) == (409, "succeeded")
    assert transfer in refused["detail"]

    wallet = await pay.balance()
    assert (wallet["balanceCentavos"], wallet["pendingCentavos"]) == (4321, 0)
    lines = await pay.api.json("GET", "/api/v1/wallet/transactions", "user")
    assert [(i["kind"], i["amountCentavos"]) for i in lines["items"]] == [("topup", 4321)]
    assert await topups(pay, code["id"]) == 1
    assert [s for s, _ in await outbox(pay, code["id"])] == ["wallet.credited",
                                                              "payment.completed"]
    mine = await pay.api.json("GET", f"/api/v1/payments/{code['id']}", "user")
    assert (mine["status"], mine["endToEndId"]) == ("succeeded", transfer)
    audited = await pay.audit.recent(10, target_type="payment", target_id=code["id"])
    assert sorted((a.entry.action, a.entry.details["credited"]) for a in audited) == [
        ("payment.confirm", False), ("payment.confirm", True)]


async def test_ten_concurrent_confirms_credit_once(offline: Offline) -> None:
    pay = offline.pay
    many, one = await offline.code(1500), await offline.code(2500)
    answers = await asyncio.gather(*(offline.confirm(many, e2e(f"{n:011d}"))
                                     for n in range(10)))
    assert sorted(status for status, _ in answers) == [200] + [409] * 9
    assert {b["state"] for s, b in answers if s == 409} == {"succeeded"}
    shared = e2e("sameTransfr")
    answers = await asyncio.gather(*(offline.confirm(one, shared) for _ in range(10)))
    assert [status for status, _ in answers] == [200] * 10  # one transfer: one credit
    assert (await pay.balance())["balanceCentavos"] == 1500 + 2500
    assert [await topups(pay, p["id"]) for p in (many, one)] == [1, 1]
    for payment in (many, one):
        subjects = [s for s, _ in await outbox(pay, payment["id"])]
        assert sorted(subjects) == ["payment.completed", "wallet.credited"]
    # a transfer confirms one payment only
    third = await offline.code(2500)
    status, refused = await offline.confirm(third, shared)
    assert (status, refused["state"]) == (409, "end_to_end_id_used")
    assert one["id"] in refused["detail"]
    assert (await pay.balance())["pendingCentavos"] == 2500


async def test_what_a_confirm_refuses(offline: Offline) -> None:
    pay = offline.pay
    code = await offline.code(1000)
    status, body = await offline.confirm(code, e2e("00000000001"), amount=999)
    assert (status, body["field"]) == (422, "amountCentavos")
    for bad in ("X" + e2e("00000000001")[1:], e2e("0000000000-"),
                "E18236120202611311200abcdefghijk",  # 31 November
                e2e("00000000001", offline.clock.at - timedelta(days=2))):  # before the code
        status, body = await offline.confirm(code, bad)
        assert (status, body["field"]) == (422, "endToEndId"), bad
    status, _ = await offline.confirm(code, e2e("00000000001"), who="user")
    assert status == 403
    status, _ = await offline.confirm(code, e2e("00000000001"), who="operator")
    assert status == 403
    unknown = {**code, "id": "00000000-0000-4000-8000-000000000000"}
    status, _ = await offline.confirm(unknown, e2e("00000000001"))
    assert status == 404
    resp = await pay.api.call("POST", CONFIRM.format(code["id"]), "admin",
                              json={"endToEndId": e2e("00000000001"), "amountCentavos": 1000})
    assert resp.status == 422  # no Idempotency-Key
    card = await pay.api.json("POST", "/api/v1/payments/intent", "user", status=201,
                              json={"amountCentavos": 700, "method": "card"}, **keyed())
    status, body = await offline.confirm(card, e2e("00000000001"))
    assert (status, body["state"]) == (409, "not_brcode")  # its PSP reports it
    wallet = await pay.balance()
    assert (wallet["balanceCentavos"], wallet["pendingCentavos"]) == (0, 1000 + 700)
    assert await topups(pay, code["id"]) == 0


async def test_an_expired_code_is_refused_and_the_job_cancels_it(offline: Offline) -> None:
    pay = offline.pay
    old = await offline.code(3000)
    offline.clock.at += timedelta(seconds=DAY - 60)
    young = await offline.code(2000)
    offline.clock.at += timedelta(seconds=61)  # old is past its expiry, young is not
    status, body = await offline.confirm(old, e2e("00000000001"))
    assert (status, body["state"]) == (409, "expired")  # even before the job ran
    assert (await pay.balance())["pendingCentavos"] == 5000

    offline.wiring.start()
    for _ in range(400):  # the node's job, every 50 ms
        got = await pay.api.json("GET", f"/api/v1/payments/{old['id']}", "user")
        if got["status"] != "requires_action":
            break
        await asyncio.sleep(0.05)
    assert (got["status"], got["failureReason"]) == ("canceled", "expired")
    wallet = await pay.balance()
    assert (wallet["balanceCentavos"], wallet["pendingCentavos"]) == (0, 2000)
    assert (await pay.api.json("GET", f"/api/v1/payments/{young['id']}", "user")
            )["status"] == "requires_action"
    assert await offline.wiring.service.expire_offline() == []  # once
    events = await outbox(pay, old["id"])
    assert [(s, p["status"], p["failureReason"]) for s, p in events] == [
        ("payment.failed", "canceled", "expired")]
    status, body = await offline.confirm(old, e2e("00000000002"))
    assert (status, body["state"]) == (409, "expired")
    assert await topups(pay, old["id"]) == 0


async def test_a_code_made_before_expiries_expires_from_its_creation(offline: Offline
                                                                    ) -> None:
    pay = offline.pay
    code = await offline.code(1200)
    async with pay.pool.acquire() as conn:  # as a code made before this change was stored
        await conn.execute("UPDATE payments SET metadata = metadata #- '{pix,expires_at}',"
                           " created_at = created_at - interval '2 days' WHERE id = $1::uuid",
                           code["id"])
    expired = await offline.wiring.service.expire_offline()
    assert [str(p.id) for p in expired] == [code["id"]]
    assert (await pay.balance())["pendingCentavos"] == 0
