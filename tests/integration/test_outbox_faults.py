"""Outbox relay faults: poison events are parked with an alert, a crashed relay is restarted
by its supervisor, readiness and metrics show the backlog (real PostgreSQL and NATS)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest
from nats.js import JetStreamContext
from nats.js.api import StorageType, StreamConfig

from sigec_actors.adapters.nats_bus import DUPLICATE_WINDOW_S, MAX_AGE_S, ensure_streams
from sigec_actors.adapters.outbox import OutboxBacklog, OutboxRelay, PgOutbox, add
from sigec_actors.adapters.outbox_park import OUTBOX_PARKED
from sigec_actors.adapters.pg import transaction
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.alerts.model import AlertFilter
from sigec_actors.bootstrap import Services
from sigec_actors.config import load_settings
from sigec_actors.outbox_actor import backlog_gauges
from sigec_actors.ports import DbPool
from sigec_actors.readiness import OutboxWatch, outbox_verdict, readiness_checks
from sigec_actors.readiness_types import Ready
from sigec_actors.services.metrics import Metrics
from tests.api.harness import start_api
from tests.integration.test_outbox_nats import (
    STREAM,
    _eventually,
    _stream_ids,
    pool,
    private_js,
    running_relay,
)

pytestmark = [pytest.mark.pg, pytest.mark.nats]
__all__ = ["pool", "private_js"]  # fixtures shared with test_outbox_nats


async def _add(pool: DbPool, payloads: list[dict[str, Any]]) -> list[uuid.UUID]:
    async with transaction(pool) as conn:
        return [await add(conn, "transaction.updated", p) for p in payloads]


def _relay(pool: DbPool, js: JetStreamContext) -> OutboxRelay:
    return OutboxRelay(pool, js, alerts=PgAlerts(pool), publish_timeout_s=0.5)


async def _parked(pool: DbPool) -> dict[uuid.UUID, str]:
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT id, park_reason FROM event_outbox WHERE parked_at IS NOT NULL")
    return {r["id"]: r["park_reason"] for r in rows}


async def _idle(outbox: PgOutbox) -> bool:
    return await outbox.pending_count() == 0


async def test_an_event_over_max_payload_is_parked_with_an_alert_and_the_rest_flow(
        pool: DbPool, private_js: JetStreamContext) -> None:
    max_payload = int(private_js._nc.max_payload)  # what the server said after connect
    big = {"missing": "7," * (max_payload // 2 + 100)}
    ids = await _add(pool, [{"n": 0}, {"n": 1}, big, {"n": 3}, {"n": 4}])
    async with running_relay(lambda: _relay(pool, private_js)):
        await _eventually(lambda: _idle(PgOutbox(pool)))
    assert await _stream_ids(private_js) == [str(i) for i in ids if i != ids[2]]
    parked = await _parked(pool)
    assert list(parked) == [ids[2]]
    assert f"max_payload of {max_payload} bytes" in parked[ids[2]]
    alerts = (await PgAlerts(pool).page(AlertFilter(kind=OUTBOX_PARKED))).items
    assert [(a.details["eventId"], a.dedupe_key) for a in alerts] == [
        (str(ids[2]), f"{OUTBOX_PARKED}:transaction.updated")]
    assert await PgOutbox(pool).backlog() == OutboxBacklog(0, None, 1)


async def test_an_event_the_stream_refuses_for_good_is_parked(
        pool: DbPool, private_js: JetStreamContext) -> None:
    await ensure_streams(private_js)
    await private_js.update_stream(StreamConfig(
        name=STREAM, subjects=["transaction.>"], storage=StorageType.FILE,
        duplicate_window=DUPLICATE_WINDOW_S, max_age=MAX_AGE_S, max_msg_size=2000))
    ids = await _add(pool, [{"n": 0}, {"pad": "x" * 5000}, {"n": 2}])
    async with running_relay(lambda: _relay(pool, private_js)):
        await _eventually(lambda: _idle(PgOutbox(pool)))
    assert await _stream_ids(private_js) == [str(ids[0]), str(ids[2])]
    parked = await _parked(pool)
    assert list(parked) == [ids[1]] and "refused by the server" in parked[ids[1]]


class FlakyPool:
    """The real pool, except that `acquire` raises a bug-like error while `failures` > 0."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool
        self.failures = 0

    def acquire(self) -> Any:
        if self.failures > 0:
            self.failures -= 1
            raise RuntimeError("unexpected failure in the relay")
        return self._pool.acquire()


async def test_a_crashed_relay_is_restarted_by_its_supervisor_and_delivers_the_backlog(
        pool: DbPool, private_js: JetStreamContext) -> None:
    flaky = FlakyPool(pool)
    relay_path = "/node-t/outbox/relay"
    async with running_relay(lambda: OutboxRelay(flaky, private_js)) as tree:  # type: ignore[arg-type]
        await _eventually(lambda: _true(tree.outbox_running()))
        flaky.failures = 3
        ids = await _add(pool, [{"n": i} for i in range(50)])
        await _eventually(lambda: _idle(PgOutbox(pool)))
        assert tree.system.context(relay_path).restarts >= 1
        assert tree.outbox_running()
    assert await _stream_ids(private_js) == [str(i) for i in ids]


async def test_relay_survives_its_connections_being_terminated(
        pool: DbPool, private_js: JetStreamContext, fresh_pg_dsn: str) -> None:
    """pg_terminate_backend on every connection of the relay's database (issue #14)."""
    async with running_relay(lambda: _relay(pool, private_js)) as tree:
        first = await _add(pool, [{"n": i} for i in range(10)])
        await _eventually(lambda: _idle(PgOutbox(pool)))
        admin = await asyncpg.connect(fresh_pg_dsn)
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()")
        finally:
            await admin.close()
        await asyncio.sleep(0.2)
        later = await _add(pool, [{"n": i} for i in range(10, 30)])
        await _eventually(lambda: _idle(PgOutbox(pool)))
        assert tree.outbox_running()
    assert await _stream_ids(private_js) == [str(i) for i in first + later]


async def _true(value: bool) -> bool:
    return value


def test_outbox_verdict() -> None:
    fine = outbox_verdict(OutboxBacklog(3, 12.4, 1), True, 300)
    assert isinstance(fine, Ready) and fine == "backlog 3, oldest 12 s, parked 1"
    old = outbox_verdict(OutboxBacklog(3, 301.0, 0), True, 300)
    assert not isinstance(old, Ready) and old.startswith("oldest unsent event older than 300 s")
    dead = outbox_verdict(OutboxBacklog(0, None, 0), False, 300)
    assert not isinstance(dead, Ready) and dead.startswith("relay not running")


async def test_readiness_is_503_with_an_old_backlog_or_a_dead_relay(pool: DbPool) -> None:
    running = [True]
    checks = readiness_checks(_services(pool), OutboxWatch(
        PgOutbox(pool).backlog, lambda: running[0], max_age_s=300))
    api = await start_api(readiness={"outbox": checks["outbox"]})
    try:
        body = await api.json("GET", "/health/ready")
        assert body["checks"]["outbox"] == "backlog 0, oldest 0 s, parked 0"
        ids = await _add(pool, [{"n": 1}])
        async with pool.acquire() as conn:
            await conn.execute("UPDATE event_outbox SET created_at = now() - interval '400 s'"
                               " WHERE id = $1", ids[0])
        body = await api.json("GET", "/health/ready", status=503)
        assert body["checks"]["outbox"].startswith(
            "oldest unsent event older than 300 s; backlog 1, oldest 400 s")
        async with pool.acquire() as conn:
            await conn.execute("UPDATE event_outbox SET sent_at = now()")
        running[0] = False
        body = await api.json("GET", "/health/ready", status=503)
        assert body["checks"]["outbox"].startswith("relay not running")
    finally:
        await api.close()


async def test_metrics_show_the_outbox_backlog(pool: DbPool) -> None:
    await _add(pool, [{"n": 1}, {"n": 2}])
    metrics = Metrics()
    metrics.async_scrape_hooks.append(backlog_gauges(PgOutbox(pool)))
    await metrics.refresh()
    text = metrics.render()[0].decode()
    assert "sigec_outbox_backlog 2.0" in text
    assert "sigec_outbox_parked 0.0" in text
    assert "sigec_outbox_oldest_age_seconds " in text


def _services(pool: DbPool) -> Services:
    return Services(settings=load_settings({}), pool=pool)


class _SilentStream:
    """A JetStream that takes publishes and never acknowledges them (NATS gone mid-batch):
    the pipelined acks time out, and the synchronous re-publish times out too."""

    def __init__(self) -> None:
        self.published: list[str] = []

    async def publish_async(self, subject: str, payload: bytes, **kw: Any) -> asyncio.Future[Any]:
        self.published.append(kw["headers"]["Nats-Msg-Id"])
        return asyncio.get_running_loop().create_future()

    async def publish(self, subject: str, payload: bytes, **kw: Any) -> Any:
        raise TimeoutError("no acknowledgement")


async def test_rows_never_acknowledged_are_not_marked_sent(pool: DbPool) -> None:
    """Only the first unacknowledged row of a batch is re-published to learn why; the ones after
    it were marked sent without any acknowledgement, and lost (seen in the NATS-reset fault test:
    5 events sent by the outbox, missing from the stream)."""
    ids = await _add(pool, [{"n": i} for i in range(4)])
    silent = _SilentStream()
    relay = OutboxRelay(pool, silent, max_payload=lambda: 1 << 20,  # type: ignore[arg-type]
                        publish_timeout_s=0.2)
    relay._streams_ready = True  # the streams exist; only their acknowledgements are lost
    _sent, failed = await relay.drain_once()
    assert failed
    assert sorted(silent.published) == sorted(str(i) for i in ids)
    assert await PgOutbox(pool).pending_count() == 4  # all retried on the next pass
