"""R5: during a PostgreSQL outage TransactionEvents fail fast with a typed error; nothing acked is lost."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_transactions import PgTransactionEventStore
from sigec_actors.domain.records import IdTokenType
from sigec_actors.ocpp.generated.v201 import TransactionEventRequest
from sigec_actors.ports import DbPool
from sigec_actors.transactions.errors import TransactionStoreUnavailable
from tests.transactions.builders import T0, session
from tests.transactions.conftest import new_station, new_user, pg_world
from tests.transactions.tcp_proxy import TcpProxy, proxied_dsn

pytestmark = pytest.mark.pg


@pytest.fixture
async def proxy(migrated_pg_dsn: str) -> AsyncIterator[tuple[TcpProxy, str]]:
    _, target = proxied_dsn(migrated_pg_dsn, 0)
    p = TcpProxy(*target)
    await p.start()
    yield p, proxied_dsn(migrated_pg_dsn, p.port)[0]
    await p.close()


async def _close(pool: DbPool) -> None:
    try:
        await asyncio.wait_for(pool.close(), 3)
    except TimeoutError:
        pool.terminate()  # type: ignore[attr-defined]


async def _send(service: object, station: str, req: TransactionEventRequest,
                acked: list[TransactionEventRequest]) -> float:
    """One station CALL: returns how long it took; appends to `acked` on CALLRESULT."""
    started = time.monotonic()
    try:
        await service.handle_event(station, req, T0)  # type: ignore[attr-defined]
        acked.append(req)
    except TransactionStoreUnavailable:
        pass
    return time.monotonic() - started


async def test_outage_fails_fast_and_loses_nothing_acknowledged(
        pool: DbPool, proxy: tuple[TcpProxy, str]) -> None:
    tcp, dsn = proxy
    station, user = await new_station(pool), await new_user(pool)
    await pg_world(pool).tokens.add(user, "CARD-OUT", IdTokenType.ISO14443)
    reqs = session(token="CARD-OUT", updates=8)
    flaky = await create_pool(dsn, min_size=2, max_size=4)
    service = pg_world(flaky, timeout_s=0.5).service
    acked: list[TransactionEventRequest] = []
    try:
        for r in reqs[:3]:
            await _send(service, station, r, acked)
        await tcp.down()  # refused + every live connection reset
        assert all([await _send(service, station, r, acked) < 1.0 for r in reqs[3:5]])
        tcp.mode = "blackhole"  # accepts, never answers: only the timeout can save us
        await tcp.start()
        assert await _send(service, station, reqs[5], acked) < 1.5
        await tcp.down()
        tcp.mode = "forward"
        await tcp.start()
        assert acked == reqs[:3]  # nothing answered during the outage
        for r in reqs[3:]:  # the station retries what got no CALLRESULT, then carries on
            for _ in range(40):
                await _send(service, station, r, acked)
                if r in acked:
                    break
                await asyncio.sleep(0.05)
    finally:
        await _close(flaky)
    assert acked == reqs
    stored = await PgTransactionEventStore(pool).events(station, "tx-1")
    assert [e.seq_no for e in stored] == [r.seq_no for r in reqs]
