"""An API on real PostgreSQL with the payments wired to the Stripe-compatible fake on loopback."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from api.idempotency import EXTRAS_KEY as IDEMPOTENCY
from api.idempotency import HEADER as KEY_HEADER
from api.routes import id_tokens, wallet
from sigec_actors.adapters.migrate import apply_migrations
from sigec_actors.adapters.pg import connect, create_pool
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_idempotency import PgIdempotencyStore
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.adapters.pg_users import PgUserRepository
from sigec_actors.adapters.pg_wallet import PgWalletStatement
from sigec_actors.config import load_settings
from sigec_actors.payments.fake_stripe import FakeStripe, sign
from sigec_actors.payments.wiring import EXTRAS_KEY, PaymentsWiring, settings_for_test
from sigec_actors.ports import DbPool
from sigec_actors.testing import InMemoryAuditLog
from tests.api.harness import Api, start_api

SECRET = "whsec_test_secret"
HOOK = "/api/v1/payments/webhooks/stripe"


def keyed(key: str | None = None) -> dict[str, dict[str, str]]:
    """Request options carrying an Idempotency-Key (a fresh one unless given)."""
    return {"headers": {KEY_HEADER: key or str(uuid4())}}


@dataclass
class PayEnv:
    api: Api
    fake: FakeStripe
    wiring: PaymentsWiring
    pool: DbPool
    audit: InMemoryAuditLog

    async def topup(self, amount: int = 5000, who: str = "user") -> dict[str, Any]:
        body: dict[str, Any] = await self.api.json(
            "POST", "/api/v1/payments/pix", who, status=201, json={"amountCentavos": amount},
            **keyed())
        return body

    def event(self, payment: dict[str, Any], outcome: str) -> dict[str, Any]:
        from sigec_actors.payments.fake_stripe import OUTCOMES, settle

        intent = self.fake.intents[payment["providerPaymentId"]]
        settle(intent, outcome)
        return self.fake.event(OUTCOMES[outcome], intent)

    async def send(self, event: dict[str, Any], secret: str = SECRET,
                   timestamp: int | None = None) -> int:
        raw = json.dumps(event).encode()
        resp = await self.api.call("POST", HOOK, data=raw, headers={
            "Stripe-Signature": sign(raw, secret, timestamp),
            "Content-Type": "application/json"})
        await resp.read()
        return resp.status

    async def balance(self, who: str = "user") -> dict[str, Any]:
        body: dict[str, Any] = await self.api.json("GET", "/api/v1/wallet", who)
        return body


@pytest.fixture
async def pay_pool(fresh_pg_dsn: str) -> AsyncIterator[DbPool]:
    """A fresh migrated database per test (the harness seeds the same principals each time)."""
    conn = await connect(fresh_pg_dsn)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    pool = await create_pool(fresh_pg_dsn, min_size=1, max_size=12)
    yield pool
    await pool.close()


@pytest.fixture
async def pay(pay_pool: DbPool, tmp_path: Path) -> AsyncIterator[PayEnv]:
    pg_pool = pay_pool
    fake = FakeStripe(api_key="sk_test_fake", webhook_secret=SECRET)
    url = await fake.start()
    settings = settings_for_test(
        load_settings({"SIGEC_DATA_DIR": str(tmp_path)}), stripe_api_base=url,
        stripe_api_key="sk_test_fake", webhook_secret=SECRET)
    ledger = PgLedgerRepository(pg_pool)
    wiring = PaymentsWiring(settings, pg_pool, ledger, PgAlerts(pg_pool))
    ports = id_tokens.TransactionPorts(id_tokens=None, queries=None, store=None,  # type: ignore[arg-type]
                                       ledger=ledger)
    audit = InMemoryAuditLog()
    api = await start_api(users=PgUserRepository(pg_pool), settings=settings, audit=audit,
                          extras={EXTRAS_KEY: wiring, id_tokens.EXTRAS_KEY: ports,
                                  wallet.EXTRAS_KEY: PgWalletStatement(pg_pool),
                                  IDEMPOTENCY: PgIdempotencyStore(pg_pool)})
    fake.webhook_url = str(api.client.make_url(HOOK))
    try:
        yield PayEnv(api, fake, wiring, pg_pool, audit)
    finally:
        await api.close()
        await wiring.aclose()
        await fake.stop()
