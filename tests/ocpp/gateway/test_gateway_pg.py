"""The gateway on the real PostgreSQL station repository (credentials, auto-registration)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence

import pytest
from websockets.asyncio.client import connect

from sigec_actors.adapters.migrate import apply_migrations
from sigec_actors.adapters.pg import connect as pg_connect
from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.domain.records import StationCredentials
from tests.helpers.server import free_port
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


class CountingPg(PgStationRepository):
    """Counts the bulk credential lookups the handshake makes."""

    def __init__(self, inner: PgStationRepository) -> None:
        super().__init__(inner._pool)
        self.bulk: list[int] = []
        self.single = 0

    async def credentials_many(self, station_ids: Sequence[str]
                               ) -> dict[str, StationCredentials]:
        self.bulk.append(len(station_ids))
        return await super().credentials_many(station_ids)

    async def credentials(self, station_id: str) -> StationCredentials | None:
        self.single += 1
        return await super().credentials(station_id)


async def test_concurrent_handshakes_share_credential_queries(
        make_gateway: MakeGateway, pg_stations: PgStationRepository) -> None:
    repo = CountingPg(pg_stations)
    h = await make_gateway(stations=repo)
    ids = [f"PGB-{i}" for i in range(40)]
    for sid in ids:
        await h.add(sid, 0)

    async def one(sid: str) -> str | None:
        async with connect(h.url(sid), subprotocols=[OCPP]) as ws:
            return ws.subprotocol

    assert await asyncio.gather(*(one(sid) for sid in ids)) == [OCPP] * 40
    assert sum(repo.bulk) == 40 and repo.single == 0
    assert len(repo.bulk) < 40  # coalesced
    assert (await raw_status(h.port, "/ocpp/PGB-404")).status == 404


async def test_a_database_outage_is_503_with_retry_after(make_gateway: MakeGateway) -> None:
    """Nothing listens where the pool points: the station is told to retry, not 500/404."""
    pool = await create_pool(f"postgresql://postgres@127.0.0.1:{free_port()}/gone",
                             min_size=0, max_size=1)
    try:
        h = await make_gateway(stations=PgStationRepository(pool))
        for path in ("/ocpp/PG-1", "/ocpp/PG-2"):
            answer = await raw_status(h.port, path, authorization=basic("PG-1", PASSWORD))
            assert answer.status == 503, answer
            assert answer.headers.get("retry-after") == "5"
    finally:
        await pool.close()
