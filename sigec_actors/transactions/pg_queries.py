"""PostgreSQL read side of transactions: filtered pages, token activity, unbilled sweep."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sigec_actors.adapters.pg import to_record
from sigec_actors.domain.transactions import Transaction
from sigec_actors.ports import DbPool
from sigec_actors.transactions.ports import TxFilter

_SELECT = "SELECT *, charge_point_id AS station_id FROM transactions"


def _where(f: TxFilter) -> tuple[str, list[Any]]:
    conds = ["($1::uuid IS NULL OR user_id = $1)", "($2::text IS NULL OR charge_point_id = $2)",
             "($3::text IS NULL OR status = $3)", "($4::timestamptz IS NULL OR started_at >= $4)",
             "($5::timestamptz IS NULL OR started_at < $5)"]
    return " WHERE " + " AND ".join(conds), [
        f.user_id, f.station_id, f.status.value if f.status else None, f.since, f.until]


class PgTransactionQueries:
    """TransactionQueries on PostgreSQL."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def page(self, where: TxFilter, limit: int = 50,
                   offset: int = 0) -> list[Transaction]:
        clause, args = _where(where)
        return await self._many(
            _SELECT + clause + " ORDER BY started_at DESC NULLS LAST, id LIMIT $6 OFFSET $7",
            *args, limit, offset)

    async def count(self, where: TxFilter) -> int:
        clause, args = _where(where)
        async with self._pool.acquire() as conn:
            return int(await conn.fetchval(
                "SELECT count(*) FROM transactions" + clause, *args))  # noqa: S608 -- constant

    async def active_with_token(self, id_token: str, token_type: str, *,
                                since: datetime) -> list[Transaction]:
        return await self._many(
            _SELECT + " WHERE status = 'Active' AND id_token = $1 AND id_token_type = $2"
            " AND updated_at >= $3", id_token, token_type, since)

    async def unbilled(self, source_type: str, limit: int = 100) -> list[Transaction]:
        return await self._many(
            _SELECT + " t WHERE status = 'Ended' AND NOT seq_gap AND user_id IS NOT NULL"  # noqa: S608
            " AND cost_centavos > 0 AND NOT EXISTS (SELECT 1 FROM journal_entries j"
            " WHERE j.source_type = $1"
            " AND j.source_id = t.charge_point_id || '/' || t.station_transaction_id)"
            " ORDER BY ended_at LIMIT $2", source_type, limit)

    async def _many(self, query: str, *args: Any) -> list[Transaction]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(query, *args)
        return [to_record(r, Transaction) for r in rows]
