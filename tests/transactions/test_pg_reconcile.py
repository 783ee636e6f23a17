"""On PostgreSQL: incomplete transactions and their review alerts; the operator reservation list."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from sigec_actors.adapters.pg_audit import PgAuditLog
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import DbPool
from sigec_actors.transactions.pg_reconcile import PgIncompleteTransactions, review_key
from sigec_actors.transactions.reconcile import AUDIT_ACTION, Outcome, Reconciler
from sigec_actors.transactions.reservation_model import NewReservation, ReservationStatus
from tests.transactions.builders import T0, E, event
from tests.transactions.conftest import new_station, new_user, pg_world
from tests.transactions.fakes import Station

pytestmark = pytest.mark.pg


async def test_incomplete_transactions_are_asked_about_and_reviewed_once(pool: DbPool) -> None:
    w = pg_world(pool)
    station = await new_station(pool)
    tx_id = f"gap-{uuid.uuid4().hex[:8]}"
    for seq in (0, 1, 3):  # seqNo 2 lost
        kind = E.STARTED if seq == 0 else E.UPDATED
        await w.service.handle_event(station, event(kind, seq, T0, tx=tx_id, wh=seq * 100), T0)
    await w.service.handle_event(station, event(E.STARTED, 0, T0, tx="clean", wh=0), T0)
    incomplete = PgIncompleteTransactions(pool)
    later = datetime.now(UTC) + timedelta(minutes=1)
    found = [t for t in await incomplete.incomplete(later, 500) if t.station_id == station]
    assert [t.station_transaction_id for t in found] == [tx_id]
    recent = await incomplete.incomplete(datetime.now(UTC) - timedelta(hours=1), 500)
    assert all(t.station_id != station for t in recent)  # changed within the grace period
    audit = PgAuditLog(pool)
    reconciler = Reconciler(w.store, incomplete, audit, lambda: later, grace_s=0)
    asked = Station(in_queue=False)
    reconciler.bind(asked)
    checked = await reconciler.check(found[0])
    assert asked.of(v201.GetTransactionStatusRequest) == [
        v201.GetTransactionStatusRequest(transaction_id=tx_id)]
    assert checked is not None and checked.outcome is Outcome.REVIEW
    assert checked.missing.ranges == ((2, 2),)
    assert not await incomplete.open_review(found[0], {})  # one open alert per transaction
    assert all(t.station_id != station for t in await incomplete.incomplete(later, 500))
    async with pool.acquire() as conn:
        alert = await conn.fetchrow("SELECT * FROM alerts WHERE dedupe_key = $1",
                                    review_key(found[0]))
    assert alert["charge_point_id"] == station and alert["severity"] == "warning"
    assert alert["details"]["missingSeqNos"] == [2]
    (entry,) = await audit.recent(target_type="transaction", target_id=str(found[0].id))
    assert entry.entry.action == AUDIT_ACTION and entry.entry.details["outcome"] == "review"


async def test_operators_list_reservations_by_station_and_status(pool: DbPool) -> None:
    w = pg_world(pool)
    station, user = await new_station(pool, evses=2), await new_user(pool)
    made = [await w.reservations.create(NewReservation(
        station_id=station, user_id=user, id_token="APP", id_token_type="Central", evse_id=evse,
        expires_at=T0 + timedelta(hours=1))) for evse in (1, 2)]
    await w.reservations.transition(made[0].id, [ReservationStatus.PENDING],
                                    ReservationStatus.ACCEPTED)
    listed = await w.reservations.page(station)
    assert [r.id for r in listed] == [made[1].id, made[0].id]
    accepted = await w.reservations.page(station, ReservationStatus.ACCEPTED)
    assert [r.id for r in accepted] == [made[0].id]
    assert await w.reservations.page(station, limit=1, offset=1) == [listed[1]]
