"""On PostgreSQL: a transaction whose Ended was lost is closed as incomplete (compare-and-set on
its row), with its `transaction.completed` event and an operator alert; its token is free."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_audit import PgAuditLog
from sigec_actors.domain.records import IdTokenType
from sigec_actors.domain.transactions import TxStatus
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import DbPool
from sigec_actors.transactions.billing import SOURCE_TYPE, SettlementKind
from sigec_actors.transactions.pg_reconcile import PgIncompleteTransactions
from sigec_actors.transactions.reconcile import END_LOST_KIND, Outcome, Reconciler, review_key
from tests.transactions.builders import T0, E, event
from tests.transactions.conftest import new_station, new_user, pg_world
from tests.transactions.fakes import Station

pytestmark = pytest.mark.pg
A = v201.AuthorizationStatusEnum


async def test_a_lost_ended_is_closed_alerted_and_frees_the_token(pool: DbPool) -> None:
    w = pg_world(pool)
    station, user = await new_station(pool, evses=2), await new_user(pool)
    card = f"C{uuid.uuid4().hex[:10]}"
    await w.tokens.add(user, card, IdTokenType.ISO14443)
    tx_id = f"lost-{uuid.uuid4().hex[:8]}"
    for req in (event(E.STARTED, 0, T0, tx=tx_id, wh=0, token=card),
                event(E.UPDATED, 1, T0, tx=tx_id, wh=2_000)):
        await w.service.handle_event(station, req, T0)

    async def card_status() -> A:
        return (await w.authorizer.check(card, "ISO14443", datetime.now(UTC))).status

    assert await card_status() is A.CONCURRENT_TX
    incomplete = PgIncompleteTransactions(pool)
    (active,) = await incomplete.active_on(station, None)
    assert [t.id for t in await incomplete.active_on(station, 1)] == [active.id]
    assert await incomplete.active_on(station, 2) == []
    reconciler = Reconciler(w.store, incomplete, PgAuditLog(pool), lambda: datetime.now(UTC),
                            alerts=PgAlerts(pool))
    reconciler.bind(Station(in_queue=False, ongoing=False))
    (checked,) = await reconciler.idle_check(station, 1)
    assert checked.outcome is Outcome.CLOSED
    closed = await w.store.find(station, tx_id)
    assert closed is not None and closed.status is TxStatus.ENDED and closed.seq_gap
    assert closed.ended_at is not None and closed.user_id == user
    assert await card_status() is A.ACCEPTED
    assert await incomplete.close_lost(active, datetime.now(UTC)) is None  # the row moved
    assert (await w.billing.settle(closed)).kind is SettlementKind.HELD_INCOMPLETE
    assert all(t.id != closed.id for t in await w.queries.unbilled(SOURCE_TYPE, 500))
    later = datetime.now(UTC) + timedelta(minutes=5)
    assert all(t.id != closed.id for t in await incomplete.incomplete(later, 500))
    async with pool.acquire() as conn:
        alert = await conn.fetchrow("SELECT * FROM alerts WHERE dedupe_key = $1",
                                    review_key(closed))
        events = await conn.fetch(
            "SELECT subject, payload FROM event_outbox WHERE payload->>'transactionId' = $1"
            " OR payload->>'alertId' = $2 ORDER BY seq", tx_id, str(alert["id"]))
    assert alert["kind"] == END_LOST_KIND and alert["charge_point_id"] == station
    assert alert["details"]["transactionId"] == tx_id
    completed = [e["payload"] for e in events if e["subject"] == "transaction.completed"]
    assert completed == [completed[0]] and completed[0]["closedBy"] == "reconcile"
    assert "alert.opened" in [e["subject"] for e in events]


async def test_a_late_ended_completes_the_closed_transaction_and_bills_it(pool: DbPool) -> None:
    w = pg_world(pool)
    station, user = await new_station(pool, evses=1), await new_user(pool)
    card = f"C{uuid.uuid4().hex[:10]}"
    await w.tokens.add(user, card, IdTokenType.ISO14443)
    await w.fund(user, 10_000)
    tx_id = f"late-{uuid.uuid4().hex[:8]}"
    await w.service.handle_event(station, event(E.STARTED, 0, T0, tx=tx_id, wh=0, token=card),
                                 T0)
    incomplete = PgIncompleteTransactions(pool)
    (active,) = await incomplete.active_on(station, 1)
    assert await incomplete.close_lost(active, datetime.now(UTC)) is not None
    # the station finds the Ended after all: the events are complete, it bills as usual
    await w.service.handle_event(station, event(E.ENDED, 1, T0 + timedelta(minutes=10),
                                                tx=tx_id, wh=1_000), T0)
    tx = await w.store.find(station, tx_id)
    assert tx is not None and tx.status is TxStatus.ENDED and not tx.seq_gap
    assert tx.ended_at == T0 + timedelta(minutes=10)
    assert w.service.last_settlement is not None
    assert w.service.last_settlement.kind is SettlementKind.POSTED
