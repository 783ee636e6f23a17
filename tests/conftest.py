"""Service fixtures: real PostgreSQL / NATS / Redis from the environment, embedded ones otherwise."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from sigec_actors.adapters.migrate import apply_migrations
from sigec_actors.adapters.pg import connect, create_pool
from sigec_actors.dsn import with_database
from sigec_actors.embedded import EmbeddedNats, EmbeddedPostgres
from sigec_actors.ports import DbPool


@pytest.fixture(scope="session")
def database_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """DSN of a PostgreSQL server we may create databases on (DATABASE_URL or embedded)."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    pg = EmbeddedPostgres(tmp_path_factory.mktemp("pg"), database="postgres")
    yield pg.start()
    pg.stop()


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def make_database(server_url: str) -> str:
    """Create a fresh empty database on the server and return its DSN."""
    name = f"sigec_t_{uuid.uuid4().hex[:12]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    return with_database(server_url, name)


def drop_database(server_url: str, dsn: str) -> None:
    name = dsn.rsplit("/", 1)[-1].split("?", 1)[0]
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="module")
def pg_dsn(database_server_url: str) -> Iterator[str]:
    """A fresh, empty database per test module, dropped afterwards."""
    dsn = make_database(database_server_url)
    yield dsn
    drop_database(database_server_url, dsn)


@pytest.fixture
def fresh_pg_dsn(database_server_url: str) -> Iterator[str]:
    """A fresh, empty database for one test."""
    dsn = make_database(database_server_url)
    yield dsn
    drop_database(database_server_url, dsn)


@pytest.fixture(scope="session")
def nats_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a NATS server with JetStream (NATS_URL or embedded)."""
    url = os.environ.get("NATS_URL")
    if url:
        yield url
        return
    nats = EmbeddedNats(tmp_path_factory.mktemp("nats"))
    yield nats.start()
    nats.stop()


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[EmbeddedNats]:
    """A private nats-server (JetStream, free port) that a fault test may stop and start."""
    nats = EmbeddedNats(tmp_path / "nats")
    nats.start()
    yield nats
    nats.stop()


@pytest.fixture(scope="session")
def redis_url() -> str:
    """REDIS_URL; tests that need Redis are skipped when it is unset (CI sets it)."""
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("REDIS_URL is not set")
    return url


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
