"""PostgreSQL side of R3 reconciliation: incomplete and orphaned transactions, review alerts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sigec_actors.adapters.outbox import add as add_event
from sigec_actors.adapters.pg import to_record, transaction
from sigec_actors.domain import events as subjects
from sigec_actors.domain.transactions import Transaction
from sigec_actors.ports import DbPool
from sigec_actors.transactions.reconcile import ALERT_KIND, review_key

__all__ = ["ALERT_KIND", "PgIncompleteTransactions", "review_key"]

_ACTIVE_ON = (
    "SELECT t.*, t.charge_point_id AS station_id FROM transactions t"
    " WHERE t.charge_point_id = $1 AND t.status = 'Active'"
    " AND ($2::integer IS NULL OR t.evse_id = $2) ORDER BY t.updated_at LIMIT $3")
# the row version (updated_at) guards the close: an event committed since the read wins
_CLOSE_LOST = (
    "UPDATE transactions SET status = 'Ended', seq_gap = true,"
    " ended_at = greatest($3, coalesce(started_at, $3))"
    " WHERE id = $1 AND status = 'Active' AND updated_at = $2"
    " RETURNING *, charge_point_id AS station_id")


class PgIncompleteTransactions:
    """IncompleteTransactions on the `transactions` and `alerts` tables."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def incomplete(self, changed_before: datetime, limit: int = 50) -> list[Transaction]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT t.*, t.charge_point_id AS station_id FROM transactions t"
                " WHERE t.seq_gap AND t.updated_at < $1 AND NOT EXISTS (SELECT 1 FROM alerts a"
                " WHERE a.resolved_at IS NULL AND a.dedupe_key = $3 || ':' || t.id::text)"
                " ORDER BY t.updated_at LIMIT $2", changed_before, limit, ALERT_KIND)
        return [to_record(r, Transaction) for r in rows]

    async def open_review(self, tx: Transaction, details: dict[str, object]) -> bool:
        message = (f"transaction {tx.station_transaction_id} of {tx.station_id} has missing"
                   " events and the station queues none: review before billing")
        async with self._pool.acquire() as conn:
            made = await conn.fetchval(
                "INSERT INTO alerts (charge_point_id, severity, kind, message, details,"
                " dedupe_key) VALUES ($1, 'warning', $2, $3, $4, $5)"
                " ON CONFLICT (dedupe_key) WHERE resolved_at IS NULL AND dedupe_key IS NOT NULL"
                " DO NOTHING RETURNING id", tx.station_id, ALERT_KIND, message,
                {**details, "transactionUuid": str(tx.id)}, review_key(tx))
        return made is not None

    async def active_on(self, station_id: str, evse_id: int | None,
                        limit: int = 50) -> list[Transaction]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_ACTIVE_ON, station_id, evse_id, limit)
        return [to_record(r, Transaction) for r in rows]

    async def close_lost(self, tx: Transaction, at: datetime) -> Transaction | None:
        """The close and its `transaction.completed` event commit together."""
        async with transaction(self._pool) as conn:
            row = await conn.fetchrow(_CLOSE_LOST, tx.id, tx.updated_at, at)
            if row is None:
                return None
            closed = to_record(row, Transaction)
            await add_event(conn, subjects.TRANSACTION_COMPLETED, _completed(closed))
        return closed


def _completed(tx: Transaction) -> dict[str, Any]:
    """The `transaction.completed` payload of a close by reconciliation (no Ended event)."""
    return {
        "stationId": tx.station_id, "transactionId": tx.station_transaction_id,
        "status": tx.status.value, "evseId": tx.evse_id, "connectorId": tx.connector_id,
        "userId": str(tx.user_id) if tx.user_id else None,
        "startedAt": tx.started_at.isoformat() if tx.started_at else None,
        "endedAt": tx.ended_at.isoformat() if tx.ended_at else None,
        "energyWh": tx.energy_wh, "costCentavos": tx.cost_centavos, "currency": tx.currency,
        "incomplete": True, "closedBy": "reconcile", "reason": "EndedLost"}
