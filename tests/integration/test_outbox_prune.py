"""Sent outbox rows are deleted after the retention period, in batches; unsent rows never."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sigec_actors.adapters.migrate import apply_migrations
from sigec_actors.adapters.outbox import PgOutbox, add
from sigec_actors.adapters.outbox_prune import OutboxPruner
from sigec_actors.adapters.pg import create_pool, transaction
from sigec_actors.jobs import Jobs, every
from sigec_actors.ports import DbPool

pytestmark = [pytest.mark.pg]


@pytest.fixture
async def pool(fresh_pg_dsn: str) -> AsyncIterator[DbPool]:
    pool = await create_pool(fresh_pg_dsn, min_size=1, max_size=4)
    await apply_migrations(pool)
    yield pool
    await pool.close()


async def _rows(pool: DbPool, n: int, sent_ago_s: float | None) -> None:
    async with transaction(pool) as conn:
        ids = [await add(conn, "transaction.updated", {"n": i}) for i in range(n)]
        if sent_ago_s is not None:
            await conn.execute(
                "UPDATE event_outbox SET sent_at = now() - make_interval(secs => $2)"
                " WHERE id = ANY($1::uuid[])", ids, sent_ago_s)


async def _counts(pool: DbPool) -> tuple[int, int]:
    async with pool.acquire() as conn:
        row = await conn.fetchrow("SELECT count(*) FILTER (WHERE sent_at IS NULL) AS unsent,"
                                  " count(*) FILTER (WHERE sent_at IS NOT NULL) AS sent"
                                  " FROM event_outbox")
    assert row is not None
    return row["unsent"], row["sent"]


async def test_only_rows_sent_before_the_retention_are_deleted_batch_by_batch(
        pool: DbPool) -> None:
    await _rows(pool, 25, sent_ago_s=7200)   # due
    await _rows(pool, 4, sent_ago_s=60)      # sent recently: kept
    await _rows(pool, 3, sent_ago_s=None)    # never sent (NATS down): kept, however old
    pruner = OutboxPruner(PgOutbox(pool), retention_s=3600, batch=10)
    assert await pruner.prune_once() == 25
    assert await _counts(pool) == (3, 4)
    assert await pruner.prune_once() == 0


async def test_the_background_task_prunes_and_stops(pool: DbPool) -> None:
    await _rows(pool, 5, sent_ago_s=10)
    pruner = OutboxPruner(PgOutbox(pool), retention_s=1)
    jobs = Jobs()
    jobs.spawn("outbox-prune", every(0.05, pruner.prune_once, job="outbox-prune"))
    try:
        for _ in range(100):
            if await _counts(pool) == (0, 0):
                break
            await asyncio.sleep(0.05)
    finally:
        await jobs.stop()
    assert await _counts(pool) == (0, 0)
