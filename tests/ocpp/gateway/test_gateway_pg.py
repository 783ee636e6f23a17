"""The gateway on the real PostgreSQL station repository (credentials, auto-registration)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect

from sigec_actors.adapters.migrate import apply_migrations
from sigec_actors.adapters.pg import connect as pg_connect
from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_stations import PgStationRepository
from tests.ocpp.gateway.conftest import OCPP, PASSWORD, MakeGateway, basic, raw_status

pytestmark = pytest.mark.pg


@pytest.fixture
async def pg_stations(pg_dsn: str) -> AsyncIterator[PgStationRepository]:
    conn = await pg_connect(pg_dsn)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()  # type: ignore[attr-defined]  # an asyncpg connection
    pool = await create_pool(pg_dsn, min_size=1, max_size=4)
    yield PgStationRepository(pool)
    await pool.close()


async def test_handshakes_against_postgres(make_gateway: MakeGateway,
                                           pg_stations: PgStationRepository) -> None:
    h = await make_gateway(stations=pg_stations)
    await h.add("PG-1", 1)
    await h.add("PG-0", 0)
    assert (await raw_status(h.port, "/ocpp/PG-404")).status == 404
    wrong = basic("PG-1", "wrong-password-0123456789")
    assert (await raw_status(h.port, "/ocpp/PG-1", authorization=wrong)).status == 401
    right = {"Authorization": basic("PG-1", PASSWORD)}
    async with connect(h.url("PG-1"), subprotocols=[OCPP], additional_headers=right) as ws:
        await ws.send("hi")
        assert await ws.recv() == "hi"
    async with connect(h.url("PG-0"), subprotocols=[OCPP]) as ws:
        assert ws.subprotocol == OCPP


async def test_auto_register_writes_the_station(make_gateway: MakeGateway,
                                                pg_stations: PgStationRepository) -> None:
    h = await make_gateway(stations=pg_stations, auto_register=True)
    async with connect(h.url("PG-NEW"), subprotocols=[OCPP]) as ws:
        assert ws.subprotocol == OCPP
    station = await pg_stations.get("PG-NEW")
    assert station is not None
    assert station.security_profile == 0
