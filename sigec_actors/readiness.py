"""Readiness checks for /health/ready: database, NATS, migrations, outbox; each with a reason."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sigec_actors.adapters.outbox import OutboxBacklog
from sigec_actors.bootstrap import Services
from sigec_actors.readiness_types import Check, Ready


@dataclass(frozen=True)
class OutboxWatch:
    """What the outbox check reads: the backlog, whether the relay runs, the age limit."""

    backlog: Callable[[], Awaitable[OutboxBacklog]]
    relay_running: Callable[[], bool]
    max_age_s: float


def outbox_verdict(backlog: OutboxBacklog, relay_running: bool, max_age_s: float) -> str:
    """Pure: a Ready note (backlog, oldest age, parked) or why the outbox is not ready."""
    age = backlog.oldest_age_s
    note = (f"backlog {backlog.unsent}, oldest {0.0 if age is None else age:.0f} s,"
            f" parked {backlog.parked}")
    if not relay_running:
        return f"relay not running; {note}"
    if age is not None and age > max_age_s:
        return f"oldest unsent event older than {max_age_s:g} s; {note}"
    return Ready(note)


def readiness_checks(services: Services, outbox: OutboxWatch | None = None) -> dict[str, Check]:
    """The checks /health/ready runs; each returns None (or a Ready note) when ready, else a
    reason."""

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

    checks: dict[str, Check] = {"database": database, "nats": nats, "migrations": migrations}
    if outbox is not None:
        async def outbox_check() -> str | None:
            backlog = await outbox.backlog()
            return outbox_verdict(backlog, outbox.relay_running(), outbox.max_age_s)

        checks["outbox"] = outbox_check
    return checks
