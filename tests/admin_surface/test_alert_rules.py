"""Operator alert rules on PostgreSQL (and NATS for the event subjects): once per cause."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import nats
import pytest

from sigec_actors.adapters.nats_bus import NatsEventBus
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.alerts.model import AlertFilter
from sigec_actors.alerts.rule_runner import AlertRules
from sigec_actors.config import load_settings
from sigec_actors.domain.events import FIRMWARE_UPDATE_FAILED, PAYMENT_DISPUTED, PAYMENT_FAILED
from sigec_actors.ports import BusMessage, DbPool

pytestmark = pytest.mark.pg


@pytest.fixture
async def rules(pool: DbPool) -> tuple[AlertRules, PgAlerts]:
    alerts = PgAlerts(pool)
    settings = load_settings({"ocpp": {"heartbeat_interval_s": 300},
                              "operator": {"offline_heartbeats": 3, "node_restarts": 3}})
    return AlertRules(pool, alerts, settings, lambda: datetime.now(UTC)), alerts


async def _kinds(alerts: PgAlerts) -> list[tuple[str, str | None]]:
    page = await alerts.page(AlertFilter(status=None), limit=100)
    return sorted((a.kind, a.charge_point_id) for a in page.items)


async def _seed(pool: DbPool) -> None:
    now = datetime.now(UTC)
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO charge_points (id, last_seen, admin_status) VALUES ($1, $2, $3)",
            [("SILENT", now - timedelta(hours=2), "Operative"),
             ("RECENT", now - timedelta(minutes=5), "Operative"),
             ("RETIRED", now - timedelta(hours=2), "Retired")])
        await conn.execute("INSERT INTO connectors (charge_point_id, evse_id, connector_id,"
                           " status) VALUES ('RECENT', 1, 1, 'Faulted')")
        await conn.executemany(
            "INSERT INTO node_starts (name, started_at) VALUES ($1, $2)",
            [*(("node-loop", now - timedelta(minutes=i)) for i in range(4)),
             ("node-ok", now - timedelta(minutes=1)),
             *(("node-old", now - timedelta(hours=2, minutes=i)) for i in range(5))])


async def test_sweep_opens_one_alert_per_cause_and_episode(
        rules: tuple[AlertRules, PgAlerts], pool: DbPool) -> None:
    runner, alerts = rules
    await _seed(pool)
    assert await runner.sweep() == 3
    assert await _kinds(alerts) == [("connector_faulted", "RECENT"),
                                    ("node_restarting", None), ("station_offline", "SILENT")]
    assert await runner.sweep() == 0  # the same causes: nothing new
    offline = (await alerts.page(AlertFilter(kind="station_offline"))).items[0]
    await alerts.resolve(offline.id)
    assert await runner.sweep() == 0  # resolved, but the same silence: not again
    async with pool.acquire() as conn:  # alerted 3 h ago; it came back, then fell silent
        await conn.execute("UPDATE alerts SET created_at = now() - interval '3 hours'")
        await conn.execute("UPDATE charge_points SET last_seen = now() - interval '1 hour'"
                           " WHERE id = 'SILENT'")
    assert await runner.sweep() == 1


async def test_events_open_one_alert_each(rules: tuple[AlertRules, PgAlerts],
                                          pool: DbPool) -> None:
    runner, alerts = rules
    failed = json.dumps({"jobId": "job-1", "chargePointId": None, "error": "x"}).encode()
    await runner.on_event(BusMessage(FIRMWARE_UPDATE_FAILED, failed))  # no station: ignored
    job = {"jobId": "job-2", "chargePointId": "CP-F", "error": "InvalidSignature",
           "requestId": 7}
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO charge_points (id) VALUES ('CP-F')")
    for _ in range(2):
        await runner.on_event(BusMessage(FIRMWARE_UPDATE_FAILED, json.dumps(job).encode()))
        await runner.on_event(BusMessage(PAYMENT_FAILED, b'{"paymentId": "p-1",'
                                         b' "amountCentavos": 500}'))
        await runner.on_event(BusMessage(PAYMENT_DISPUTED, b'{"paymentId": "p-1"}'))
    await runner.on_event(BusMessage(PAYMENT_FAILED, b"not json"))
    page = await alerts.page(AlertFilter(status=None), limit=10)
    assert sorted((a.kind, a.severity.value) for a in page.items) == [
        ("firmware_failed", "warning"), ("payment_disputed", "critical"),
        ("payment_failed", "warning")]


async def test_published_firmware_failure_reaches_the_rule(
        rules: tuple[AlertRules, PgAlerts], nats_url: str, pool: DbPool) -> None:
    runner, alerts = rules
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO charge_points (id) VALUES ('CP-N')")
    nc = await nats.connect(nats_url)
    try:
        # a queue group of its own: servers on the same NATS take the group's events
        await runner.listen(NatsEventBus(nc), queue=f"test-{uuid.uuid4().hex}")
        await nc.publish(FIRMWARE_UPDATE_FAILED, json.dumps(
            {"jobId": "job-n", "chargePointId": "CP-N", "error": "DownloadFailed"}).encode())
        for _ in range(100):
            if (await alerts.page(AlertFilter(kind="firmware_failed"))).total:
                break
            await asyncio.sleep(0.05)
        page = await alerts.page(AlertFilter(kind="firmware_failed"))
        assert [a.charge_point_id for a in page.items] == ["CP-N"]
    finally:
        await runner.close()
        await nc.close()
