"""Reports end to end on PostgreSQL: REST request -> ReportJob actor under /<node>/reports ->
rows streamed through a server-side cursor -> CSV/PDF stored -> status, rows and download."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import timedelta
from uuid import UUID

import pytest

from sigec_actors.node_tree import NodeTree
from sigec_actors.ports import DbPool
from sigec_actors.reports.actor import JobDeps
from sigec_actors.reports.model import GroupBy, ReportFormat, ReportKind, ReportSpec
from sigec_actors.reports.sources import PgSource
from sigec_actors.reports.store import PgReports
from sigec_actors.reports.wiring import ReportService
from sigec_actors.runtime import ActorSystem
from sigec_actors.testing.reports import CountingSource, FlakySource, RecordingStore
from tests.reports.conftest import D1, SESSIONS, Node, start_node

pytestmark = pytest.mark.usefixtures("seeded_dsn")  # the module's data, before any pool
BASE = "/api/v1/admin/reports"
WEEK = {"from": D1.isoformat(), "to": (D1 + timedelta(days=7)).isoformat()}


async def _request(node: Node, **body: str) -> str:
    answer = await node.api.json("POST", BASE, "operator", status=202, json={**WEEK, **body})
    assert answer["status"] == "queued" and answer["statusUrl"] == f"{BASE}/{answer['reportId']}"
    return str(answer["reportId"])


async def test_energy_by_day_csv_matches_sql_and_downloads(node: Node) -> None:
    report_id = await _request(node, kind="energy", groupBy="day", format="csv")
    body = await node.wait(report_id)
    assert body["status"] == "done" and body["progress"] == 100, body
    assert body["sourceRows"] == SESSIONS and body["rowCount"] == 7
    async with node.pool.acquire() as conn:
        expected = {r["day"]: [r["n"], r["wh"], 0] for r in await conn.fetch(
            "SELECT to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*) AS n,"
            " sum(energy_wh) AS wh FROM transactions GROUP BY 1")}
    assert body["columns"] == ["day", "sessions", "energyWh", "energyExportWh"]
    assert {r[0]: r[1:] for r in body["rows"] if r[1]} == expected
    assert body["downloadUrl"] == f"{BASE}/{report_id}/download"
    resp = await node.api.call("GET", body["downloadUrl"], "operator")
    assert resp.status == 200 and resp.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert 'filename="energy-by-day-20260302-20260309.csv"' in resp.headers[
        "Content-Disposition"]
    lines = list(csv.reader(io.StringIO(await resp.text())))
    assert lines[0] == body["columns"] and len(lines) == 8
    assert [r.entry.action for r in node.api.audit.records
            if r.entry.target_id == report_id] == ["report.request"]
    page = await node.api.json("GET", f"{BASE}?limit=50", "operator")
    listed = next(r for r in page["items"] if r["id"] == report_id)
    assert listed["status"] == "done" and listed["rowCount"] == 7 and listed["rows"] is None
    assert page["total"] >= len(page["items"]) >= 1


async def test_revenue_by_location_pdf(node: Node) -> None:
    report_id = await _request(node, kind="revenue", groupBy="location", format="pdf")
    body = await node.wait(report_id)
    assert body["status"] == "done", body
    by_name = {r[1]: r[2:] for r in body["rows"]}
    ended = list(range(SESSIONS - 3))
    assert by_name["Centro"] == [len([i for i in ended if i % 3 == 0]),
                                 sum(1000 + 10 * i for i in ended if i % 3 == 0),
                                 sum(500 + i for i in ended if i % 3 == 0)]
    assert set(by_name) == {"Centro", "Praia", "(no location)"}
    resp = await node.api.call("GET", body["downloadUrl"], "operator")
    assert resp.headers["Content-Type"] == "application/pdf"
    assert (await resp.read()).startswith(b"%PDF-")


async def test_transactions_and_v2g_by_station(node: Node) -> None:
    tx = await node.wait(await _request(node, kind="transactions", groupBy="station"))
    assert tx["rows"][0] == ["RP-A", 20, 19, 1, 30.0, 1285.0]  # i = 0, 3, ..., 57 (57 active)
    v2g = await node.wait(await _request(node, kind="v2g", groupBy="station"))
    assert v2g["status"] == "done" and v2g["rows"] == [] and v2g["sourceRows"] == 0


async def test_uptime_reads_the_online_history(node: Node) -> None:
    day = {"from": D1.isoformat(), "to": (D1 + timedelta(days=1)).isoformat()}
    answer = await node.api.json("POST", BASE, "operator", status=202,
                                 json={**day, "kind": "uptime", "groupBy": "station"})
    body = await node.wait(answer["reportId"])
    assert body["rows"] == [["RP-A", 12.0, 24.0, 50.0], ["RP-B", 0.0, 24.0, 0.0],
                            ["RP-C", 0.0, 24.0, 0.0]]


async def test_bad_requests_are_422_and_unknown_reports_404(node: Node) -> None:
    api = node.api
    cases = [({"kind": "energy", "from": WEEK["to"], "to": WEEK["from"]}, "to"),
             ({"kind": "energy", "from": "2026-03-02T00:00:00", "to": WEEK["to"]}, "from"),
             ({"kind": "energy", **WEEK, "timezone": "Mars/Olympus"}, "timezone"),
             ({"kind": "energy", "from": "2025-01-01T00:00:00Z", "to": WEEK["to"]}, "to"),
             ({"kind": "gossip", **WEEK}, "kind"),
             ({"kind": "energy", **WEEK, "format": "xlsx"}, "format")]
    for body, field in cases:
        problem = await api.json("POST", BASE, "operator", status=422, json=body)
        assert problem["field"] == field, (body, problem)
    await api.json("POST", BASE, "user", status=403, json={"kind": "energy", **WEEK})
    await api.json("GET", f"{BASE}/not-a-uuid", "operator", status=404)
    await api.json("GET", f"{BASE}/{UUID(int=7)}", "operator", status=404)
    queued = await node.reports.store.create(ReportSpec(
        kind=ReportKind.ENERGY, group_by=GroupBy.DAY, format=ReportFormat.CSV,
        from_at=D1, to_at=D1 + timedelta(days=1)), None, "elsewhere")
    await api.json("GET", f"{BASE}/{queued}/download", "operator", status=404)  # not done
    async with node.pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM reports WHERE to_at <= from_at") == 0


async def test_a_crashed_job_is_restarted(pg_pool: DbPool) -> None:
    once = FlakySource(PgSource(pg_pool), failures=1)
    node = await start_node(pg_pool, source=once)
    try:
        body = await node.wait(await _request(node, kind="energy", groupBy="station"))
        assert body["status"] == "done" and once.opened == 2, body
    finally:
        await node.close()


async def test_a_job_that_keeps_crashing_is_given_up(pg_pool: DbPool) -> None:
    always = FlakySource(PgSource(pg_pool), failures=99)
    node = await start_node(pg_pool, source=always)
    try:
        body = await node.wait(await _request(node, kind="energy", groupBy="day"))
        assert body["status"] == "failed" and always.opened == 3, body
        assert body["error"] == ("gave up after 3 attempts; last error: RuntimeError: "
                                 "report source failed (test)")
        assert node.tree.reports.children() == []  # no job left behind
    finally:
        await node.close()


async def test_a_report_whose_node_died_is_taken_over(pg_pool: DbPool) -> None:
    node = await start_node(pg_pool, stale_s=0.0)
    try:
        orphan = await node.reports.store.create(ReportSpec(
            kind=ReportKind.TRANSACTIONS, group_by=GroupBy.DAY, format=ReportFormat.PDF,
            from_at=D1, to_at=D1 + timedelta(days=3)), None, "dead-node")
        assert orphan in await node.reports.take_over()
        body = await node.wait(str(orphan))
        assert body["status"] == "done" and body["rowCount"] == 3, body
        async with pg_pool.acquire() as conn:  # finished 91 days ago: the next round deletes it
            await conn.execute("UPDATE reports SET finished_at = now() - interval '91 days'"
                               " WHERE id = $1", orphan)
        await node.reports.take_over()
        await node.api.json("GET", f"{BASE}/{orphan}", "operator", status=404)
    finally:
        await node.close()


async def test_progress_is_written_while_the_rows_stream(pg_pool: DbPool) -> None:
    system = ActorSystem(name="rn2")
    tree = await NodeTree.start(system)
    try:
        store = PgReports(pg_pool)
        recording = RecordingStore(store)
        service = ReportService(store, tree.reports, JobDeps(
            recording, PgSource(pg_pool, batch_rows=7), system.name, progress_every_s=0.0))
        report_id = await service.request(ReportSpec(
            kind=ReportKind.ENERGY, group_by=GroupBy.STATION, format=ReportFormat.CSV,
            from_at=D1, to_at=D1 + timedelta(days=7)), None)
        while (info := await store.get(report_id)) is None or info.status.value != "done":
            await asyncio.sleep(0.02)
        percents = [p for p, _ in recording.progress_seen]
        assert percents[0] == 0 and percents == sorted(percents) and max(percents) == 99
        assert len(set(percents)) >= 8  # 60 rows in batches of 7: one write per batch
        assert {rows for _, rows in recording.progress_seen} == {SESSIONS}
        assert info.progress == 100
    finally:
        await system.shutdown()


async def test_at_most_two_jobs_stream_at_once_on_a_node(pg_pool: DbPool) -> None:
    counting = CountingSource(PgSource(pg_pool, batch_rows=7))
    node = await start_node(pg_pool, source=counting)
    try:
        ids = [await _request(node, kind=kind, groupBy="day")
               for kind in ("energy", "revenue", "transactions", "v2g", "uptime")]
        for report_id in ids:
            assert (await node.wait(report_id))["status"] == "done"
        assert counting.most_open == 2
    finally:
        await node.close()
