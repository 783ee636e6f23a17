"""PgBlocks on real PostgreSQL (migration 0019): the same behaviour as the in-memory store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec

from sigec_actors.adapters.pg_ocpp_blocks import PgBlocks
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.ocpp_blocks.records import DisplayMessage, LocalList, MeterSample
from sigec_actors.ports import DbPool

NOW = datetime(2026, 1, 1, 12, tzinfo=UTC)


async def _station(pool: DbPool, station_id: str) -> None:
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO charge_points (id) VALUES ($1) ON CONFLICT DO NOTHING",
                           station_id)


async def test_local_list_tokens_and_meter_values(pg_pool: DbPool) -> None:
    store = PgBlocks(pg_pool)
    await _station(pg_pool, "PG-1")
    assert await store.local_list("PG-1") is None
    saved = LocalList(version=3, size=2, update_type="Full",
                      entries=(("A", "ISO14443"), ("B", "Local")), updated_at=NOW)
    await store.save_local_list("PG-1", saved)
    assert await store.local_list("PG-1") == saved
    async with pg_pool.acquire() as conn:
        user = await conn.fetchval(
            "INSERT INTO users (name, email, password_hash) VALUES ('t', 't@x.org', '$argon2id$x')"
            " RETURNING id")
        await conn.execute("INSERT INTO id_tokens (user_id, id_token, type, status)"
                           " VALUES ($1, 'CARD-9', 'ISO14443', 'Blocked')", user)
    probe = "SELECT pg_try_advisory_lock(hashtext('sigec.local_list'), hashtext($1))"
    async with store.list_lock("PG-1"), pg_pool.acquire() as other:  # held: others wait
        assert await other.fetchval(probe, "PG-1") is False
        assert await other.fetchval(probe, "PG-2") is True  # per station
        await other.execute("SELECT pg_advisory_unlock_all()")
    async with pg_pool.acquire() as other:
        assert await other.fetchval(probe, "PG-1") is True  # released
        await other.execute("SELECT pg_advisory_unlock_all()")
    [token] = await store.list_tokens(10)
    assert (token.id_token, token.type, token.status) == ("CARD-9", "ISO14443", "Blocked")

    samples = [MeterSample(evse_id=1, sampled_at=NOW - timedelta(minutes=i), value=float(i),
                           measurand="Voltage" if i % 2 else "Energy.Active.Import.Register",
                           unit="V" if i % 2 else None, multiplier=None if i % 2 else 3)
               for i in range(4)]
    await store.add_samples("PG-1", samples)
    voltage = await store.samples("PG-1", NOW - timedelta(hours=1), NOW, "Voltage", 10)
    assert voltage == [samples[3], samples[1]]
    assert len(await store.samples("PG-1", NOW - timedelta(hours=1), NOW + timedelta(1), None,
                                   3)) == 3


def _info(message_id: int) -> dict[str, object]:
    return msgspec.to_builtins(m.MessageInfo(
        id=message_id, priority=m.MessagePriorityEnum.NORMAL_CYCLE,
        message=m.MessageContent(format=m.MessageFormatEnum.UTF8, content=f"m{message_id}")))


async def test_display_messages_reports_and_queries(pg_pool: DbPool) -> None:
    store = PgBlocks(pg_pool)
    await _station(pg_pool, "PG-2")
    await store.put_message("PG-2", DisplayMessage(id=1, source="set", message=_info(1),
                                                   updated_at=NOW))
    await store.query_sent("PG-2", 7, "Sent")
    await store.report("PG-2", 7, [_info(2)], complete=False)
    assert [d.id for d in await store.messages("PG-2")] == [1, 2]
    await store.query_sent("PG-2", 7, "Accepted")
    await store.report("PG-2", 7, [_info(3)], complete=True)
    assert [(d.id, d.source, d.request_id) for d in await store.messages("PG-2")] == [
        (2, "reported", 7), (3, "reported", 7)]
    query = await store.query("PG-2", 7)
    assert query is not None and (query.status, query.parts, query.complete) == (
        "Accepted", 2, True)
    await store.report("PG-2", 8, [_info(4)], complete=True)  # not asked for: prunes nothing
    assert [d.id for d in await store.messages("PG-2")] == [2, 3, 4]
    await store.delete_message("PG-2", 4)
    await store.forget_query("PG-2", 8)
    assert await store.query("PG-2", 8) is None
    await store.delete_message("PG-2", 2)
    assert [d.id for d in await store.messages("PG-2")] == [3]
    await store.forget_messages("PG-2")
    assert await store.messages("PG-2") == []


async def test_prune_on_postgresql(pg_pool: DbPool) -> None:
    store = PgBlocks(pg_pool)
    await _station(pg_pool, "PG-3")
    await store.add_samples("PG-3", [
        MeterSample(evse_id=0, sampled_at=NOW - timedelta(days=d), measurand="Voltage",
                    value=float(d)) for d in (1, 100)])
    await store.query_sent("PG-3", 1, "Accepted")
    assert await store.prune(NOW - timedelta(days=90), NOW - timedelta(days=1)) == 1
    assert [s.value for s in await store.samples("PG-3", NOW - timedelta(days=200), NOW,
                                                 None, 10)] == [1.0]
    assert await store.query("PG-3", 1) is not None  # sent just now: kept
