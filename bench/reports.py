"""Operator reports over a year of data (issue 20): time and memory of a ReportJob, beside a
naive job that fetches every row at once.

    python -m bench.reports [--transactions 100000,300000] [--stations 500] [--append]

On a scratch database (created on DATABASE_URL's server, migrated, dropped): `--stations`
stations in 25 locations, N transactions spread over 365 days, an online history (a change every
~3.5 days per station) and N/20 V2G sessions. Each case runs the real path (ReportService.request
-> ReportJob actor under /<node>/reports -> server-side cursor -> CSV/PDF stored) and is timed
from the request to `done`; the memory figure is tracemalloc's peak during a second run of the
same job (Python heap, precise; RSS is blurred by the allocator). `naive`: the same SQL through
`fetch()` (every row in memory), the same aggregation and file. Prints the markdown table, then
the JSON on one line (also in bench/out/).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.report import RESULTS_MD, machine, write_json
from bench.txevents import DEFAULT_DSN, HASH, scratch_database
from sigec_actors.adapters.pg import create_pool
from sigec_actors.node_tree import NodeTree
from sigec_actors.ports import DbPool
from sigec_actors.reports.aggregate import Aggregator, UptimeAggregator
from sigec_actors.reports.model import GroupBy, ReportFormat, ReportKind, ReportSpec, ReportStatus
from sigec_actors.reports.render import render
from sigec_actors.reports.sources import SOURCES, PgSource
from sigec_actors.reports.wiring import ReportsWiring
from sigec_actors.runtime import ActorSystem

YEAR_START = datetime(2025, 1, 1, tzinfo=UTC)
YEAR = ReportSpec(kind=ReportKind.ENERGY, group_by=GroupBy.DAY, format=ReportFormat.CSV,
                  from_at=YEAR_START, to_at=YEAR_START + timedelta(days=365))
CASES = (("energy", "day", "csv"), ("revenue", "station", "pdf"),
         ("transactions", "location", "pdf"), ("v2g", "day", "csv"), ("uptime", "station", "csv"))

SEED = """
INSERT INTO locations (name, latitude, longitude)
  SELECT 'Site ' || i, -23.5 + i / 100.0, -46.6 FROM generate_series(1, 25) i;
INSERT INTO charge_points (id, location_id, created_at, last_seen)
  SELECT 'BR-' || lpad(i::text, 5, '0'), (SELECT id FROM locations ORDER BY name
         OFFSET i % 25 LIMIT 1), $1::timestamptz - interval '1 day',
         $1::timestamptz - interval '1 day' FROM generate_series(1, $2::int) i;
INSERT INTO transactions (charge_point_id, station_transaction_id, status, started_at, ended_at,
                          energy_wh, cost_centavos)
  SELECT 'BR-' || lpad((1 + i % $2::int)::text, 5, '0'), 'tx-' || i, 'Ended',
         $1::timestamptz + (i * 31536.0 / $3::int) * interval '1000 seconds',
         $1::timestamptz + (i * 31536.0 / $3::int) * interval '1000 seconds'
           + (10 + i % 80) * interval '1 minute',
         2000 + (i::bigint * 7919) % 40000, 300 + (i::bigint * 104729) % 9000
  FROM generate_series(0, $3::int - 1) i;
INSERT INTO station_status_log (charge_point_id, online, changed_at)
  SELECT 'BR-' || lpad(s::text, 5, '0'), k % 2 = 0,
         $1::timestamptz + (k * 84 + s % 84) * interval '1 hour'
  FROM generate_series(1, $2::int) s, generate_series(0, 103) k;
INSERT INTO users (name, email, password_hash) VALUES ('Bench', 'bench@bench.local', '{hash}');
INSERT INTO v2g_sessions (charge_point_id, user_id, status, started_at, ended_at,
                          energy_transferred_wh, user_compensation_centavos)
  SELECT 'BR-' || lpad((1 + i % $2::int)::text, 5, '0'), (SELECT id FROM users LIMIT 1),
         'Completed', $1::timestamptz + (i * 20 * 31536.0 / $3::int) * interval '1000 seconds',
         $1::timestamptz + (i * 20 * 31536.0 / $3::int) * interval '1000 seconds'
           + interval '1 hour', 5000 + i % 3000, 200 + i % 100
  FROM generate_series(0, $3::int / 20 - 1) i;
ANALYZE;
"""


async def seed(pool: DbPool, stations: int, transactions: int) -> None:
    async with pool.acquire() as conn:
        for statement in SEED.format(hash=HASH).split(";\n"):
            if statement.strip():
                args = [a for n, a in ((1, YEAR_START), (2, stations), (3, transactions))
                        if f"${n}" in statement]
                await conn.execute(statement, *args)


async def run_job(reports: ReportsWiring, spec: ReportSpec) -> dict[str, Any]:
    """Request the report through the service (the REST route's call) and wait for it."""
    report_id = await reports.service.request(spec, None)
    while True:
        info = await reports.store.get(report_id)
        assert info is not None
        if info.status in (ReportStatus.DONE, ReportStatus.FAILED):
            assert info.status is ReportStatus.DONE, info.error
            found = await reports.store.file(report_id)
            assert found is not None
            return {"rows": info.row_count, "source_rows": info.source_rows,
                    "bytes": len(found.content)}
        await asyncio.sleep(0.01)


async def run_naive(pool: DbPool, spec: ReportSpec) -> dict[str, Any]:
    """Every row through fetch(), then the same aggregation and file."""
    async with pool.acquire() as conn:
        records = await conn.fetch(SOURCES[spec.kind].rows_sql, spec.from_at, spec.to_at)
    agg = (UptimeAggregator(spec, datetime.now(UTC)) if spec.kind is ReportKind.UPTIME
           else Aggregator(spec))
    for record in records:
        agg.add(record)
    table = agg.table()
    file = await asyncio.to_thread(render, spec, table, datetime.now(UTC))
    return {"rows": len(table.rows), "source_rows": len(records), "bytes": len(file.content)}


async def measured(work: Callable[[], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    """Wall and CPU time of one run, then tracemalloc's peak over a second run."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = await work()
    out["wall_s"] = round(time.perf_counter() - wall, 3)
    out["cpu_s"] = round(time.process_time() - cpu, 3)
    tracemalloc.start()
    try:
        await work()
        out["peak_mib"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
    finally:
        tracemalloc.stop()
    return out


async def measure(opts: argparse.Namespace) -> dict[str, Any]:
    results: list[dict[str, Any]] = []
    for count in opts.transactions:
        async with scratch_database(opts.dsn) as url:
            pool = await create_pool(url, min_size=2, max_size=4)
            system = ActorSystem(name="bench-reports")
            try:
                started = time.perf_counter()
                await seed(pool, opts.stations, count)
                seeded_s = round(time.perf_counter() - started, 1)
                tree = await NodeTree.start(system)
                reports = ReportsWiring(pool, tree.reports, system.name,
                                        source=PgSource(pool, batch_rows=opts.batch))
                for kind, group, fmt in CASES:
                    spec = ReportSpec(kind=ReportKind(kind), group_by=GroupBy(group),
                                      format=ReportFormat(fmt), from_at=YEAR.from_at,
                                      to_at=YEAR.to_at)
                    job = await measured(lambda s=spec, r=reports: run_job(r, s))
                    naive = await measured(lambda s=spec, p=pool: run_naive(p, s))
                    results.append({"transactions": count, "case": f"{kind}/{group}/{fmt}",
                                    "seed_s": seeded_s, "job": job, "naive": naive})
                    print(json.dumps(results[-1]), file=sys.stderr)
            finally:
                await system.shutdown()
                await pool.close()
    return {"stations": opts.stations, "batch_rows": opts.batch, "cases": results}


def table(result: dict[str, Any]) -> str:
    head = ("| transactions | report | source rows | rows out | job s | job CPU s | job peak MiB "
            "| naive s | naive peak MiB | job / naive peak |")
    lines = [head, "|" + "---|" * 10]
    for c in result["cases"]:
        job, naive = c["job"], c["naive"]
        ratio = job["peak_mib"] / naive["peak_mib"] if naive["peak_mib"] else 0.0
        lines.append(f"| {c['transactions']:,} | {c['case']} | {job['source_rows']:,} | "
                     f"{job['rows']:,} | {job['wall_s']:.2f} | {job['cpu_s']:.2f} | "
                     f"{job['peak_mib']:.1f} | {naive['wall_s']:.2f} | {naive['peak_mib']:.1f} | "
                     f"{ratio:.2f}x |")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.reports", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dsn", default=os.environ.get("DATABASE_URL") or DEFAULT_DSN)
    p.add_argument("--transactions", default="100000",
                   help="comma-separated transaction counts, one scratch database each")
    p.add_argument("--stations", type=int, default=500)
    p.add_argument("--batch", type=int, default=2000, help="rows per cursor fetch (the node's)")
    p.add_argument("--append", action="store_true", help="append a section to bench/RESULTS.md")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.transactions = [int(x) for x in args.transactions.split(",") if x.strip()]
    result = {"machine": machine(), **asyncio.run(measure(args))}
    path = write_json(result, name=f"reports-{int(time.time())}")
    text = table(result)
    print(text)
    if args.append:
        m = result["machine"]
        with RESULTS_MD.open("a") as fh:
            fh.write(f"\n## {m['date']} · commit `{m['commit']}` · operator reports (issue 20)\n\n"
                     f"Machine: {m['nproc']} cores, {m['cpu']}, load average at start "
                     f"{m['loadavg_at_start']}. Command: `python -m bench.reports "
                     f"{' '.join(argv)}`. Raw JSON: `bench/out/{path.name}`.\n\n{text}\n")
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
