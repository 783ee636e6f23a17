"""The embedded services start, answer, persist data across restarts and stop cleanly."""

from __future__ import annotations

import asyncio
from pathlib import Path

import asyncpg
import nats

from sigec_actors.embedded import EmbeddedNats, EmbeddedPostgres


def test_embedded_postgres_persists_across_restarts(tmp_path: Path) -> None:
    async def write(dsn: str) -> None:
        conn = await asyncpg.connect(dsn)
        await conn.execute("CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)")
        await conn.close()

    async def read(dsn: str) -> int:
        conn = await asyncpg.connect(dsn)
        value = await conn.fetchval("SELECT v FROM kept")
        await conn.close()
        return int(value)

    pg = EmbeddedPostgres(tmp_path / "pg")
    asyncio.run(write(pg.start()))
    pg.stop()
    pg2 = EmbeddedPostgres(tmp_path / "pg")
    assert asyncio.run(read(pg2.start())) == 42
    pg2.stop()


def test_embedded_nats_has_jetstream_and_stops(tmp_path: Path) -> None:
    server = EmbeddedNats(tmp_path / "nats")
    url = server.start()
    assert url.startswith(f"nats://{EmbeddedNats.USER}:") and "@127.0.0.1:" in url

    async def use() -> int:
        nc = await nats.connect(url)
        js = nc.jetstream()
        await js.add_stream(name="T", subjects=["t.>"])
        ack = await js.publish("t.x", b"1")
        await nc.close()
        return ack.seq

    assert asyncio.run(use()) == 1
    server.stop()
    assert not server.running
    # restart on the same port keeps the stream
    server.start()
    assert asyncio.run(_stream_messages(server.url or "")) == 1
    server.stop()


async def _stream_messages(url: str) -> int:
    nc = await nats.connect(url)
    info = await nc.jetstream().stream_info("T")
    await nc.close()
    return int(info.state.messages)
