"""What GET /api/v1/admin/dashboard costs with a large network (issue 20).

    python -m bench.dashboard [--stations 10000] [--transactions 300000] [--rounds 30]

Seeds a scratch database (created on DATABASE_URL's server, migrated, dropped) with
`stations` stations (2 connectors each, 90 % online), `transactions` sessions spread over 60
days (1 in 60 ended today, 2,000 active), 2,000 alerts (half resolved), 500 V2G sessions and
two node summaries, then times PgDashboard.figures (the route's whole database work plus the
JSON encoding; with the node's 2 s sharing off) `rounds` times one after another and `rounds`
times 10 at once, and the node reporter's summary of a 10,000-station actor tree.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import uuid
from datetime import UTC, datetime

import asyncpg
import msgspec

from bench.actors import spawn, start_pool
from sigec_actors.adapters.migrate import apply_migrations
from sigec_actors.adapters.pg import create_pool
from sigec_actors.admin_surface.dashboard import PgDashboard
from sigec_actors.dsn import with_database
from sigec_actors.runtime.census import census

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/postgres"
SEED = [
    "INSERT INTO charge_points (id, online, last_seen) SELECT 'BENCH-' || g, g % 10 <> 0,"
    " now() - (g % 100) * interval '1 minute' FROM generate_series(1, $1) g",
    "INSERT INTO connectors (charge_point_id, evse_id, connector_id, status)"
    " SELECT 'BENCH-' || g, e, 1, (ARRAY['Available', 'Occupied', 'Reserved', 'Unavailable',"
    " 'Faulted'])[1 + (g + e) % 5] FROM generate_series(1, $1) g, generate_series(1, 2) e",
    "INSERT INTO users (name, email, password_hash) VALUES ('bench', 'bench@x.br',"
    " '$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA')",
    "INSERT INTO alerts (severity, kind, message, resolved_at) SELECT"
    " (ARRAY['info', 'warning', 'critical'])[1 + g % 3], 'bench', 'm',"
    " CASE WHEN g % 2 = 0 THEN now() END FROM generate_series(1, 2000) g",
    "INSERT INTO node_status (name, started_at, seen_at, stations, mailbox_depth_max)"
    " VALUES ('node-1', now(), now(), 5000, 3), ('node-2', now(), now(), 5000, 1)",
]
TRANSACTIONS = (
    "INSERT INTO transactions (charge_point_id, station_transaction_id, status, started_at,"
    " ended_at, energy_wh, cost_centavos) SELECT 'BENCH-' || (1 + g % $2), 'tx-' || g,"
    " CASE WHEN g <= 2000 THEN 'Active' ELSE 'Ended' END, now() - (g % 60) * interval '1 day'"
    " - interval '1 hour', CASE WHEN g <= 2000 THEN NULL ELSE now() - (g % 60)"
    " * interval '1 day' - interval '10 minutes' END, 1000 + g % 40000, 100 + g % 9000"
    " FROM generate_series(1, $1) g")
V2G = (
    "INSERT INTO v2g_sessions (charge_point_id, user_id, status, energy_transferred_wh,"
    " started_at, ended_at) SELECT 'BENCH-' || g, (SELECT id FROM users LIMIT 1),"
    " CASE WHEN g <= 50 THEN 'Active' ELSE 'Completed' END, 500 + g, now() - interval '2 hours',"
    " CASE WHEN g <= 50 THEN NULL ELSE now() - interval '1 hour' END"
    " FROM generate_series(1, 500) g")


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"{statistics.median(ordered):.1f} | {p95:.1f} | {ordered[-1]:.1f}"


async def _timed(board: PgDashboard) -> float:
    started = time.perf_counter()
    msgspec.json.encode(await board.figures(datetime.now(UTC)))
    return (time.perf_counter() - started) * 1000


async def _node_report_ms(stations: int) -> tuple[float, float]:
    """One node report's CPU: the census of a live tree of `stations` idle actors under
    /bench/pool, as NodeReporter.tick does (median of 10), and a full snapshot for contrast."""
    system, pool = await start_pool()
    await spawn(pool, stations)
    times = []
    for _ in range(10):
        started = time.perf_counter()
        census(system, "pool")
        times.append((time.perf_counter() - started) * 1000)
    started = time.perf_counter()
    system.snapshot()
    snapshot_ms = (time.perf_counter() - started) * 1000
    await system.shutdown()
    return statistics.median(times), snapshot_ms


async def main(args: argparse.Namespace) -> None:
    server = os.environ.get("DATABASE_URL", DEFAULT_DSN)
    name = f"sigec_bench_dash_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        pool = await create_pool(with_database(server, name), min_size=2, max_size=10)
        seeded = time.perf_counter()
        async with pool.acquire() as conn:
            await apply_migrations(conn)
            for sql in SEED:
                await (conn.execute(sql, args.stations) if "$1" in sql else conn.execute(sql))
            await conn.execute(TRANSACTIONS, args.transactions, args.stations)
            await conn.execute(V2G)
            await conn.execute("ANALYZE")
        seeded = time.perf_counter() - seeded
        board = PgDashboard(pool, "America/Sao_Paulo", 15.0, max_age_s=0.0)  # no sharing
        await _timed(board)  # warm the pool and the plan cache
        alone = [await _timed(board) for _ in range(args.rounds)]
        together: list[float] = []
        for _ in range(args.rounds):
            together += await asyncio.gather(*(_timed(board) for _ in range(10)))
        figures = await board.figures(datetime.now(UTC))
        await pool.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
    report_ms, snapshot_ms = await _node_report_ms(args.stations)
    print(f"{args.stations} stations, {args.transactions} transactions (seeded in"
          f" {seeded:.1f} s); today: {figures.today.sessions} sessions")
    print("| GET /admin/dashboard (database + JSON) | median ms | p95 ms | max ms |")
    print("|---|---|---|---|")
    print(f"| one at a time ({args.rounds}) | {_ms(alone)} |")
    print(f"| 10 at once ({args.rounds} rounds) | {_ms(together)} |")
    print(f"node report: census of {args.stations} live actors {report_ms:.1f} ms"
          f" (a full snapshot: {snapshot_ms:.1f} ms)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--stations", type=int, default=10_000)
    parser.add_argument("--transactions", type=int, default=300_000)
    parser.add_argument("--rounds", type=int, default=30)
    asyncio.run(main(parser.parse_args()))
