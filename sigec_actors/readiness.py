"""Readiness checks for /health/ready: database, NATS and migrations, each with a short reason."""

from __future__ import annotations

from sigec_actors.bootstrap import Services
from sigec_actors.readiness_types import Check


def readiness_checks(services: Services) -> dict[str, Check]:
    """The checks /health/ready runs; each returns None when ready or a reason when not."""

    async def database() -> str | None:
        if services.pool is None:
            return "not connected"
        async with services.pool.acquire() as conn:
            await conn.fetchval("SELECT 1")
        return None

    async def nats() -> str | None:
        if services.nats is None or not services.nats.is_connected:
            return "not connected"
        await services.nats.flush(timeout=1)
        return None

    async def migrations() -> str | None:
        from sigec_actors.adapters.migrate import MIGRATIONS_DIR, pending_migrations

        if services.pool is None:
            return "database not connected"
        async with services.pool.acquire() as conn:
            pending = await pending_migrations(conn, MIGRATIONS_DIR)
        return f"pending: {', '.join(pending)}" if pending else None

    return {"database": database, "nats": nats, "migrations": migrations}
