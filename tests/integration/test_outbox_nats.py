"""Outbox -> JetStream: order, dedupe, a NATS outage with no loss and no duplicate, two relays."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import nats
import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from sigec_actors.adapters.migrate import apply_migrations
from sigec_actors.adapters.nats_bus import DUPLICATE_WINDOW_S, ensure_streams
from sigec_actors.adapters.outbox import OutboxRelay, PgOutbox, add
from sigec_actors.adapters.pg import create_pool, transaction
from sigec_actors.domain.events import STREAMS
from sigec_actors.embedded import EmbeddedNats
from sigec_actors.node_tree import NodeTree
from sigec_actors.outbox_actor import OutboxRelayActor, RelayTiming
from sigec_actors.ports import DbPool
from sigec_actors.runtime import ActorSystem

pytestmark = [pytest.mark.pg, pytest.mark.nats]
STREAM = "SIGEC_TRANSACTION"


@pytest.fixture
async def pool(fresh_pg_dsn: str) -> AsyncIterator[DbPool]:
    pool = await create_pool(fresh_pg_dsn, min_size=1, max_size=6)
    await apply_migrations(pool)
    yield pool
    await pool.close()


async def _connect(url: str) -> Client:
    return await nats.connect(url, max_reconnect_attempts=-1, reconnect_time_wait=0.2,
                              connect_timeout=2, allow_reconnect=True)


@pytest.fixture
async def private_js(nats_server: EmbeddedNats) -> AsyncIterator[JetStreamContext]:
    assert nats_server.url is not None
    nc = await _connect(nats_server.url)
    yield nc.jetstream()
    await nc.close()


async def _add_events(pool: DbPool, n: int, start: int = 0) -> list[uuid.UUID]:
    async with transaction(pool) as conn:
        return [await add(conn, "transaction.updated", {"n": i}) for i in range(start, start + n)]


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


async def _stream_ids(js: JetStreamContext) -> list[str]:
    """Nats-Msg-Id of every message in the stream, in stream order."""
    info = await js.stream_info(STREAM)
    ids = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1):
        msg = await js.get_msg(STREAM, seq)
        assert msg.headers is not None
        ids.append(msg.headers["Nats-Msg-Id"])
    return ids


def _relay(pool: DbPool, js: JetStreamContext) -> OutboxRelay:
    return OutboxRelay(pool, js, publish_timeout_s=0.5)


TIMING = RelayTiming(poll_interval_s=0.05, max_backoff_s=0.3, restart_delay_s=0.1)


@asynccontextmanager
async def running_relay(make: Callable[[], OutboxRelay],
                        name: str = "node-t") -> AsyncIterator[NodeTree]:
    """A node tree whose only work is the relay actor at /<name>/outbox/relay."""
    system = ActorSystem(name=name)
    tree = await NodeTree.start(system, outbox_relay=lambda: OutboxRelayActor(make, TIMING))
    try:
        yield tree
    finally:
        await system.shutdown()


async def test_ensure_streams_is_idempotent(nats_url: str) -> None:
    nc = await _connect(nats_url)
    try:
        js = nc.jetstream()
        assert await ensure_streams(js) == list(STREAMS)
        assert await ensure_streams(js) == list(STREAMS)
        for name, subject in STREAMS.items():
            info = await js.stream_info(name)
            assert info.config.subjects == [subject]
            assert info.config.duplicate_window == DUPLICATE_WINDOW_S
    finally:
        await nc.close()


async def test_relay_publishes_in_order_and_marks_sent(
        pool: DbPool, private_js: JetStreamContext) -> None:
    async with running_relay(lambda: _relay(pool, private_js)):
        ids = await _add_events(pool, 25)
        outbox = PgOutbox(pool)
        await _eventually(lambda: _zero(outbox))
        assert await _stream_ids(private_js) == [str(i) for i in ids]
        msg = await private_js.get_msg(STREAM, 1)
        assert msg.subject == "transaction.updated"
        assert msg.data == b'{"n":0}'


async def _zero(outbox: PgOutbox) -> bool:
    return await outbox.pending_count() == 0


async def test_republish_after_lost_ack_is_deduplicated(
        pool: DbPool, private_js: JetStreamContext) -> None:
    relay = _relay(pool, private_js)
    await _add_events(pool, 5)
    assert await relay.drain_once() == (5, False)
    async with pool.acquire() as conn:  # as if the acks had been lost before marking sent
        await conn.execute("UPDATE event_outbox SET sent_at = NULL")
    assert await relay.drain_once() == (5, False)
    assert len(await _stream_ids(private_js)) == 5


async def test_outbox_survives_nats_outage(pool: DbPool, nats_server: EmbeddedNats,
                                           private_js: JetStreamContext) -> None:
    outbox = PgOutbox(pool)
    async with running_relay(lambda: _relay(pool, private_js)):
        ids = await _add_events(pool, 20)
        await _eventually(lambda: _zero(outbox))
        await asyncio.to_thread(nats_server.stop)
        ids += await _add_events(pool, 30, start=20)  # writers keep going while NATS is down
        await asyncio.sleep(1.0)
        assert await outbox.pending_count() == 30
        await asyncio.to_thread(nats_server.start)
        await _eventually(lambda: _zero(outbox))
        ids += await _add_events(pool, 5, start=50)
        await _eventually(lambda: _zero(outbox))
    stream = await _stream_ids(private_js)
    assert len(stream) == len(set(stream)) == 55
    assert set(stream) == {str(i) for i in ids}


async def test_two_relays_share_the_work_exactly_once(
        pool: DbPool, private_js: JetStreamContext) -> None:
    async with (running_relay(lambda: _relay(pool, private_js), "node-a"),
                running_relay(lambda: _relay(pool, private_js), "node-b")):
        ids = []
        for k in range(4):
            ids += await _add_events(pool, 50, start=50 * k)
        await _eventually(lambda: _zero(PgOutbox(pool)))
    stream = await _stream_ids(private_js)
    assert sorted(stream) == sorted(str(i) for i in ids)


async def test_add_rejects_subjects_no_stream_captures(pool: DbPool) -> None:
    async with transaction(pool) as conn:
        with pytest.raises(ValueError, match="no JetStream stream"):
            await add(conn, "nothing.here", {})


async def test_pipelined_batches_keep_the_stream_in_outbox_order(
        pool: DbPool, private_js: JetStreamContext) -> None:
    relay = _relay(pool, private_js)
    ids = await _add_events(pool, 450)
    assert [await relay.drain_once() for _ in range(4)] == [
        (200, False), (200, False), (50, False), (0, False)]
    assert await _stream_ids(private_js) == [str(i) for i in ids]
