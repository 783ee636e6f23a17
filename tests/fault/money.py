"""Fault-suite money helpers: a PostgreSQL backend killer, requests that must answer (never hang),
retries with the same Idempotency-Key or the same signed event, and the ledger checks."""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg

from sigec_actors.payments.fake_stripe import WEBHOOK_PATH, sign
from sigec_actors.payments.model import SOURCE_REFUND, SOURCE_TOPUP

ANSWER_S = 30.0  # a request not answered within this is a hang
RETRY_FOR_S = 60.0  # after the faults, how long a retry may take to complete
# The node's connections; with _ONLY_BUSY, those serving a statement or inside a transaction.
_ALL = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
         " WHERE datname = current_database() AND pid <> pg_backend_pid()"
         " AND backend_type = 'client backend'")
_ONLY_BUSY = " AND state IN ('active', 'idle in transaction', 'idle in transaction (aborted)')"


@dataclass
class Killer:
    """pg_terminate_backend on the node's database until `stop`: every 20-150 ms (seeded),
    alternately the backends busy with a statement or a transaction, and all of them."""

    dsn: str
    seed: int
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    rounds: int = 0
    terminated: int = 0

    async def run(self) -> None:
        rng = random.Random(self.seed)
        conn = await asyncpg.connect(self.dsn)
        try:
            while not self.stop.is_set():
                await asyncio.sleep(rng.uniform(0.02, 0.15))
                query = _ALL + (_ONLY_BUSY if self.rounds % 2 == 0 else "")
                self.terminated += int(await conn.fetchval(query))
                self.rounds += 1
        finally:
            await conn.close()

    def report(self) -> dict[str, int]:
        return {"pg_terminate_backend_rounds": self.rounds,
                "connections_terminated": self.terminated}


Send = Callable[[], Awaitable[tuple[int, Any]]]


async def answered(send: Send) -> tuple[int, Any]:
    """(status, body) of one request; status 0 when it was not answered in ANSWER_S."""
    try:
        async with asyncio.timeout(ANSWER_S):
            return await send()
    except TimeoutError:
        return 0, None


async def until_done(send: Send, ok: frozenset[int]) -> tuple[int, Any, int]:
    """Send again (the same key or event) until the answer is in `ok`; a 503 is retried at
    once, a 409 'still running' after its Retry-After. (status, body, attempts)."""
    deadline, attempts = time.monotonic() + RETRY_FOR_S, 0
    while True:
        attempts += 1
        status, body = await answered(send)
        if status in ok:
            return status, body, attempts
        assert status == 503 or running(status, body), (status, body)
        assert time.monotonic() < deadline, f"not completed in {RETRY_FOR_S} s: {status} {body}"
        await asyncio.sleep(1.0 if status == 409 else 0.1)


def running(status: int, body: Any) -> bool:
    """A 409 because a request with the same Idempotency-Key still holds it."""
    return status == 409 and isinstance(body, dict) and body.get("field") == "Idempotency-Key"


def statuses(seen: list[int]) -> dict[str, int]:
    return {str(k): v for k, v in sorted(Counter(seen).items())}


class Webhooks:
    """Signed deliveries of one event body, as Stripe redelivers the same event."""

    def __init__(self, session: aiohttp.ClientSession, base: str, secret: str) -> None:
        self.session, self.url, self.secret = session, base + WEBHOOK_PATH, secret

    def sender(self, event: dict[str, Any]) -> Send:
        payload = json.dumps(event).encode()

        async def send() -> tuple[int, Any]:
            headers = {"Stripe-Signature": sign(payload, self.secret),
                       "Content-Type": "application/json"}
            async with self.session.post(self.url, data=payload, headers=headers) as resp:
                text = await resp.text()
                return resp.status, (json.loads(text) if text else None)
        return send


async def fake_call(session: aiohttp.ClientSession, fake: str, key: str, method: str,
                    path: str, body: Any = None) -> Any:
    async with session.request(method, fake + path, json=body,
                               headers={"Authorization": f"Bearer {key}"}) as resp:
        assert resp.status == 200, (resp.status, await resp.text())
        return await resp.json()


async def ledger_facts(dsn: str) -> dict[str, Any]:
    """What the database holds about money, for the checks and the report."""
    conn = await asyncpg.connect(dsn)
    try:
        drift = await conn.fetch("SELECT * FROM ledger_balance_drift")
        unbalanced = await conn.fetch(
            "SELECT e.id, coalesce(sum(p.amount_centavos), 0) AS total, count(p.id) AS n"
            " FROM journal_entries e LEFT JOIN postings p ON p.journal_entry_id = e.id"
            " GROUP BY e.id HAVING coalesce(sum(p.amount_centavos), 0) <> 0 OR count(p.id) < 2")
        payments = await conn.fetch(
            "SELECT p.id, p.idempotency_key, p.status, p.amount_centavos, p.refunded_centavos,"
            " p.journal_entry_id, (SELECT count(*) FROM journal_entries e WHERE"
            " e.source_type = $1 AND e.source_id = p.id::text) AS topups FROM payments p",
            SOURCE_TOPUP)
        refunds = await conn.fetch(
            "SELECT r.id, r.payment_id, r.idempotency_key, r.status, r.amount_centavos,"
            " (SELECT count(*) FROM journal_entries e WHERE e.source_type = $1"
            " AND e.source_id = r.id::text) AS debits FROM payment_refunds r", SOURCE_REFUND)
        wallets = await conn.fetch(
            "SELECT a.user_id, a.balance_centavos, coalesce(sum(p.amount_centavos), 0) AS posted"
            " FROM ledger_accounts a LEFT JOIN postings p ON p.account_id = a.id"
            " WHERE a.kind = 'user_wallet' GROUP BY a.id")
        webhooks = int(await conn.fetchval("SELECT count(*) FROM processed_webhooks"))
    finally:
        await conn.close()
    return {"drift": [dict(r) for r in drift], "unbalanced": [dict(r) for r in unbalanced],
            "payments": [dict(r) for r in payments], "refunds": [dict(r) for r in refunds],
            "wallets": [dict(r) for r in wallets], "processed_webhooks": webhooks}
