"""PostgreSQL side of R3 reconciliation: incomplete transactions and their operator alerts."""

from __future__ import annotations

from datetime import datetime

from sigec_actors.adapters.pg import to_record
from sigec_actors.domain.transactions import Transaction
from sigec_actors.ports import DbPool

ALERT_KIND = "transaction_incomplete"


def review_key(tx: Transaction) -> str:
    """The alerts.dedupe_key of a transaction's review: one open alert per transaction."""
    return f"{ALERT_KIND}:{tx.id}"


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
