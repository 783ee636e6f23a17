"""The API on real PostgreSQL repositories plus the operator surface's ports."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from api.routes import station_admin, tariffs
from api.testing import FakeActors
from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_audit import PgAuditLog
from sigec_actors.adapters.pg_cache import PgCache
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.adapters.pg_users import PgRefreshTokenRepository, PgUserRepository
from sigec_actors.admin_surface.stations import PgStationDetails
from sigec_actors.ports import DbPool
from sigec_actors.runtime.snapshot import ActorSnapshot
from sigec_actors.tariffs.store import PgTariffAdmin
from tests.api.harness import Api, start_api
from tests.conftest import _migrate, drop_database, make_database

WIPE = ("TRUNCATE users, charge_points, locations, tariffs, transactions, alerts, audit_log,"
        " denied_keys, node_status, node_starts CASCADE")

TREE = ActorSnapshot("/node-1", "NodeSupervisor", "running", 0, 1, 0, 2.0, None, [
    ActorSnapshot("/node-1/charge-points", "ChargePointSupervisor", "running", 0, 1, 0, 2.0,
                  None, [ActorSnapshot("/node-1/charge-points/CP-1", "ChargePoint",
                                       "running", 0, 3, 0, 1.5, None, [])])])


@pytest.fixture(scope="package")
def pg_dsn(database_server_url: str) -> Iterator[str]:
    """One migrated database for the whole package (one per module cost ~10 s each); every
    test starts by wiping the tables it uses."""
    dsn = make_database(database_server_url)
    asyncio.run(_migrate(dsn))
    yield dsn
    drop_database(database_server_url, dsn)


@pytest.fixture(scope="package")
def migrated_pg_dsn(pg_dsn: str) -> str:
    return pg_dsn


@pytest.fixture
async def pool(migrated_pg_dsn: str) -> AsyncIterator[DbPool]:
    p = await create_pool(migrated_pg_dsn, min_size=1, max_size=6)
    async with p.acquire() as conn:
        await conn.execute(WIPE)
    yield p
    await p.close()


@pytest.fixture
async def pg_api(pool: DbPool) -> AsyncIterator[Api]:
    api = await start_api(users=PgUserRepository(pool), stations=PgStationRepository(pool),
                          refresh_tokens=PgRefreshTokenRepository(pool), audit=PgAuditLog(pool),
                          alerts=PgAlerts(pool), cache=PgCache(pool), actors=FakeActors(TREE),
                          extras={tariffs.EXTRAS_KEY: PgTariffAdmin(pool),
                                  station_admin.EXTRAS_KEY: PgStationDetails(pool)})
    yield api
    await api.close()
