"""PostgreSQL audit log (append-only)."""

from __future__ import annotations

from typing import Any

from sigec_actors.adapters.pg import connection, to_record
from sigec_actors.domain.records import AuditEntry, AuditRecord
from sigec_actors.ports import DbConn, DbPool


class PgAuditLog:
    """AuditLog on PostgreSQL; `record` may join the caller's transaction via `conn`."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def record(self, entry: AuditEntry, conn: DbConn | None = None) -> None:
        async with connection(conn if conn is not None else self._pool) as c:
            await c.execute(
                "INSERT INTO audit_log (actor_type, actor_id, action, target_type, target_id,"
                " details, ip, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7::inet, $8)",
                entry.actor_type, entry.actor_id, entry.action, entry.target_type,
                entry.target_id, entry.details, entry.ip, entry.request_id)

    async def recent(self, limit: int = 50, *, target_type: str | None = None,
                     target_id: str | None = None) -> list[AuditRecord]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT *, host(ip) AS ip_text FROM audit_log"
                " WHERE ($2::text IS NULL OR target_type = $2)"
                " AND ($3::text IS NULL OR target_id = $3) ORDER BY id DESC LIMIT $1",
                limit, target_type, target_id)
        return [_record(r) for r in rows]


def _record(row: Any) -> AuditRecord:
    entry = to_record(row, AuditEntry, ip=row["ip_text"])
    return AuditRecord(id=row["id"], occurred_at=row["occurred_at"], entry=entry)
