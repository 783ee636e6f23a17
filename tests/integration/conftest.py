"""Fixtures for the persistence tests: a migrated database per module and a pool per test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from sigec_actors.adapters.migrate import apply_migrations
from sigec_actors.adapters.pg import connect, create_pool
from sigec_actors.ports import DbPool


async def _migrate(dsn: str) -> None:
    conn = await connect(dsn)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def migrated_pg_dsn(pg_dsn: str) -> str:
    """The module's fresh database with every migration applied."""
    asyncio.run(_migrate(pg_dsn))
    return pg_dsn


@pytest.fixture
async def pg_pool(migrated_pg_dsn: str) -> AsyncIterator[DbPool]:
    """A small asyncpg pool on the migrated database (one per test: pools bind to a loop)."""
    pool = await create_pool(migrated_pg_dsn, min_size=1, max_size=10)
    yield pool
    await pool.close()
