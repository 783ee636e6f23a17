"""wallet.debited / wallet.credited: one outbox event per posting, naming its journal entry."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.adapters.pg_ledger_batch import BatchedPgLedger
from sigec_actors.domain.events import WALLET_CREDITED, WALLET_DEBITED
from sigec_actors.domain.records import IdTokenType
from sigec_actors.ports import DbPool
from sigec_actors.transactions.billing import SOURCE_TYPE, BillingService
from sigec_actors.v2g_session.messages import MeterSample
from sigec_actors.v2g_session.state import Status
from tests.transactions.builders import T0, session
from tests.transactions.conftest import new_station, new_user, pg_world
from tests.v2g_session import conftest as v2g
from tests.v2g_session.conftest import H20, H21, World
from tests.v2g_session.test_pg_sessions import active

pytestmark = pytest.mark.pg
pool = v2g.pool  # the V2G tests' `pool` and `world` fixtures, here too
world = v2g.world


async def outbox(db: DbPool, subject: str) -> list[dict[str, Any]]:
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT payload FROM event_outbox WHERE subject = $1 ORDER BY id",
                                subject)
    return [dict(r["payload"]) for r in rows]


@pytest.mark.parametrize("batched", [False, True], ids=["ledger", "batched-ledger"])
async def test_a_billed_session_writes_one_wallet_debited_naming_its_entry(
        pay_pool: DbPool, batched: bool) -> None:
    db = pay_pool
    ledger = BatchedPgLedger(PgLedgerRepository(db), db) if batched else PgLedgerRepository(db)
    w = pg_world(db, billing=BillingService(ledger))
    station, user = await new_station(db), await new_user(db)
    await w.tokens.add(user, "CARD-EV1", IdTokenType.ISO14443)
    await w.fund(user, 5_000)
    reqs = session(token="CARD-EV1", kwh=10)
    for r in reqs:
        await w.service.handle_event(station, r, T0)
    await w.service.handle_event(station, reqs[-1], T0)  # a retried Ended: a replay
    tx = await w.store.find(station, "tx-1")
    assert tx is not None
    await w.billing.settle(tx)  # the sweep settling it again: a replay too
    entry = await w.ledger.entry_by_source(SOURCE_TYPE, f"{station}/tx-1")
    assert entry is not None
    [debited] = await outbox(db, WALLET_DEBITED)
    assert debited == {"userId": str(user), "amountCentavos": 1_600, "currency": "BRL",
                       "source": f"{station}/tx-1", "journalEntryId": str(entry.id)}


async def test_a_v2g_payout_writes_one_wallet_credited_naming_its_entry(
        world: World) -> None:
    _, state = await active(world)
    samples = [MeterSample(H20 + timedelta(minutes=50), 0),
               MeterSample(H21 + timedelta(minutes=10), 2_400)]
    await world.store.save(Status.ACTIVE, state, samples)  # type: ignore[arg-type]
    first = await world.settlement().settle(state)  # type: ignore[arg-type]
    again = await world.settlement().settle(state)  # type: ignore[arg-type]
    assert first.journal_entry_id == again.journal_entry_id is not None
    [credited] = await outbox(world.pool, WALLET_CREDITED)
    assert credited["amountCentavos"] == first.net_centavos > 0
    assert credited["journalEntryId"] == str(first.journal_entry_id)
    assert credited["userId"] == str(world.user)
