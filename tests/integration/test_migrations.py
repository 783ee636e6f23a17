"""Migrations from zero, re-run, two concurrent runners, and edited-file detection."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from sigec_actors.adapters.migrate import (
    MIGRATIONS_DIR,
    apply_migrations,
    load_migrations,
    pending_migrations,
)
from sigec_actors.adapters.pg import connect, create_pool
from sigec_actors.domain.errors import MigrationChecksumMismatch, MigrationError

pytestmark = pytest.mark.pg

EXPECTED_TABLES = {
    "users", "locations", "charge_points", "station_credentials", "connectors", "id_tokens",
    "tariffs", "reservations", "transactions", "transaction_events", "meter_values",
    "refresh_tokens", "ledger_accounts", "journal_entries", "postings", "payments",
    "processed_webhooks", "idempotency_keys", "v2g_sessions", "v2g_preferences", "v2g_events",
    "v2g_compensations", "v2g_grid_prices", "v2g_capabilities", "iso15118_certificates",
    "firmware_updates", "event_outbox", "audit_log", "alerts", "schema_migrations",
    "rate_counters", "denied_keys", "remote_starts", "v2g_price_fetches", "payment_refunds", "v2g_plans",
    "firmware_campaigns", "firmware_publications",  # 0017 (firmware jobs)
    "device_requests", "device_report_parts", "device_variables", "device_monitors",
    "device_events", "device_logs",  # 0018 (device model, diagnostics)
    "station_local_lists", "station_display_messages", "display_message_queries",
    "station_meter_values",  # 0019 (local lists, display messages, meter values)
    "charging_profiles", "site_limits", "external_charging_limits",
    "ev_charging_schedules",  # 0020 (smart charging)
    "node_status", "node_starts",  # 0021 (operator surface)
    "reports", "station_status_log",  # 0022 (reports)
    "station_certificates", "pki_trusted_roots",  # 0023 (PKI)
    "voice_commands",  # 0024 (voice assistant)
}


async def test_from_zero_then_rerun_is_a_no_op(fresh_pg_dsn: str) -> None:
    names = [f.name for f in load_migrations()]
    conn = await connect(fresh_pg_dsn)
    try:
        assert await pending_migrations(conn) == names
        assert await apply_migrations(conn) == names
        assert await pending_migrations(conn) == []
        assert await apply_migrations(conn) == []
        rows = await conn.fetch(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        assert {r["tablename"] for r in rows} == EXPECTED_TABLES
        recorded = await conn.fetch("SELECT name, checksum FROM schema_migrations ORDER BY name")
        assert [(r["name"], r["checksum"]) for r in recorded] == [
            (f.name, f.checksum) for f in load_migrations()]
    finally:
        await conn.close()


async def test_concurrent_runners_apply_each_file_once(fresh_pg_dsn: str) -> None:
    pool = await create_pool(fresh_pg_dsn, min_size=1, max_size=4)
    try:
        results = await asyncio.gather(*(apply_migrations(pool) for _ in range(4)))
        applied = [name for result in results for name in result]
        assert sorted(applied) == [f.name for f in load_migrations()]
        assert await pending_migrations(pool) == []
    finally:
        await pool.close()


async def test_edited_applied_file_is_a_clear_error(fresh_pg_dsn: str, tmp_path: Path) -> None:
    work = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, work)
    conn = await connect(fresh_pg_dsn)
    try:
        await apply_migrations(conn, work)
        first = sorted(work.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")
        with pytest.raises(MigrationChecksumMismatch) as info:
            await apply_migrations(conn, work)
        assert info.value.name == first.name
        with pytest.raises(MigrationChecksumMismatch):
            await pending_migrations(conn, work)
    finally:
        await conn.close()


async def test_failed_file_rolls_back_and_stops(fresh_pg_dsn: str, tmp_path: Path) -> None:
    work = tmp_path / "migrations"
    work.mkdir()
    (work / "0001_ok.sql").write_text("CREATE TABLE a (x int);")
    (work / "0002_bad.sql").write_text("CREATE TABLE b (x int); SELECT no_such_function();")
    conn = await connect(fresh_pg_dsn)
    try:
        with pytest.raises(Exception, match="no_such_function"):
            await apply_migrations(conn, work)
        assert await pending_migrations(conn, work) == ["0002_bad.sql"]
        assert await conn.fetchval("SELECT to_regclass('b')") is None
        assert await conn.fetchval("SELECT pg_try_advisory_lock(1)")  # session still usable
    finally:
        await conn.close()


def test_bad_names_are_rejected(tmp_path: Path) -> None:
    (tmp_path / "1_x.sql").write_text("")
    with pytest.raises(MigrationError):
        load_migrations(tmp_path)
    (tmp_path / "1_x.sql").unlink()
    (tmp_path / "0001_a.sql").write_text("")
    (tmp_path / "0001_b.sql").write_text("")
    with pytest.raises(MigrationError, match="number also used"):
        load_migrations(tmp_path)
