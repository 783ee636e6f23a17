"""PostgreSQL wallet statement: a user's wallet postings with the balance after each one."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

import msgspec

from sigec_actors.adapters.pg import to_record
from sigec_actors.ports import DbPool

_LINES = (
    "SELECT * FROM (SELECT p.id AS posting_id, j.id AS entry_id, j.source_type, j.source_id,"
    " p.amount_centavos,"
    " (sum(p.amount_centavos) OVER (ORDER BY p.id))::bigint AS balance_after_centavos,"
    " j.created_at FROM postings p JOIN journal_entries j ON j.id = p.journal_entry_id"
    " WHERE p.account_id = $1) t ORDER BY posting_id DESC LIMIT $2 OFFSET $3")


class StatementLine(msgspec.Struct, frozen=True, kw_only=True):
    posting_id: int
    entry_id: UUID
    source_type: str
    source_id: str
    amount_centavos: int
    balance_after_centavos: int
    created_at: datetime


class PgWalletStatement:
    """Statement lines newest first (the running balance is the sum of postings up to each)."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def lines(self, account_id: UUID, limit: int, offset: int
                    ) -> tuple[list[StatementLine], int]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_LINES, account_id, limit, offset)
            total = await conn.fetchval("SELECT count(*) FROM postings WHERE account_id = $1",
                                        account_id)
        return [to_record(r, StatementLine) for r in rows], int(total)

    async def pending_v2g(self, user_id: UUID) -> int:
        """V2G payouts computed and not posted yet (status calculated)."""
        async with self._pool.acquire() as conn:
            return int(await conn.fetchval(
                "SELECT coalesce(sum(net_amount_centavos), 0) FROM v2g_compensations"
                " WHERE user_id = $1 AND status = 'calculated'", user_id))
