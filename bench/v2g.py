"""V2G bench (issue 15): N discharge sessions on one inline node, V2G meter values every 10 s."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg

from bench.load.limits import raise_nofile
from bench.report import RESULTS_MD, machine, write_json
from bench.txevents import scratch_database
from bench.v2g_probe import PgWatch, Server, WindowCpu, log_summary, percentiles, timeline
from bench.v2g_report import section, table
from bench.v2g_station import CallFailed, V2GStation
from tests.helpers.server import Api, ServerProcess, server_env

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_NATS = "nats://127.0.0.1:4222"
OWNER = ("Fleet Owner", "owner@bench.local", "v2g bench owner passphrase")
GATE = 16  # concurrent REST calls and connects of the setup (the client, not the server)


@dataclass
class Opts:
    sessions: int = 1000
    interval_s: float = 10.0
    updates: int = 9  # per station and phase: a 90 s window at 10 s
    settle_s: float = 3.0
    min_soc: int = 20
    dsn: str = DEFAULT_DSN
    nats_url: str = DEFAULT_NATS
    seed: int = 15
    server_env: tuple[str, ...] = ()  # KEY=VALUE for the node (e.g. a [log] setting)


@asynccontextmanager
async def node(opts: Opts, tmp: Path) -> AsyncIterator[Server]:
    """`sigec serve` (SIGEC_WORKERS=0) on a fresh database and the given NATS; killed after."""
    async with scratch_database(opts.dsn) as dsn:
        env = server_env(tmp / "data", DATABASE_URL=dsn, NATS_URL=opts.nats_url,
                         SIGEC_OCPP__STATION_CALLS_PER_S="0", SIGEC_LOG__LEVEL="warning",
                         **dict(kv.split("=", 1) for kv in opts.server_env))
        proc = ServerProcess(tmp / "data", env, tmp / "server.log")
        await asyncio.to_thread(proc.start)
        try:
            yield Server(proc, dsn)
        finally:
            proc.kill()


async def gathered(coros: list[Any], gate: int = GATE) -> list[Any]:
    sem = asyncio.Semaphore(gate)

    async def one(coro: Any) -> Any:
        async with sem:
            return await coro

    return list(await asyncio.gather(*(one(c) for c in coros)))


async def register_stations(dsn: str, ids: list[str]) -> None:
    """Profile-0 stations straight into the tables, as tests/fault does (no password to hash)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.executemany("INSERT INTO charge_points (id) VALUES ($1)", [(i,) for i in ids])
        await conn.executemany("INSERT INTO station_credentials (charge_point_id,"
                               " security_profile) VALUES ($1, 0)", [(i,) for i in ids])
    finally:
        await conn.close()


async def setup(server: Server, http: aiohttp.ClientSession, ids: list[str]) -> Api:
    """Stations (profile 0, straight into the tables), discharge enabled by an admin through
    REST, one owner whose cards (one per station, through REST) start every transaction."""
    await register_stations(server.dsn, ids)
    admin = Api(server.proc.http, http)
    await admin.login()
    patched = await gathered([admin.call("PATCH", f"/api/v1/admin/stations/{sid}", {
        "v2g": {"mode": "v201_negative_limit", "maxDischargeW": 7000}}) for sid in ids])
    assert all(status == 200 for status, _ in patched), patched[:3]
    owner = Api(server.proc.http, http)
    status, body = await owner.call("POST", "/api/v1/auth/register", dict(zip(
        ("name", "email", "password"), OWNER, strict=True)))
    assert status == 201, body
    await owner.login(OWNER[1], OWNER[2])
    added = await gathered([owner.call("POST", "/api/v1/users/me/id-tokens", {
        "idToken": f"RFID-{sid}", "type": "ISO14443"}) for sid in ids])
    assert all(status == 201 for status, _ in added), added[:3]
    return owner


async def connect(server: Server, stations: list[V2GStation]) -> None:
    """Every station connects, boots and starts its transaction with its owner's card."""
    async def one(st: V2GStation) -> None:
        await st.connect("127.0.0.1", server.port)
        await st.start_transaction()

    await gathered([one(st) for st in stations], gate=100)


async def meter_phase(server: Server, stations: list[V2GStation], opts: Opts,
                      name: str) -> dict[str, Any]:
    """`updates` TransactionEvent Updated per station, one every `interval_s` from a random
    phase, over a fixed window (updates x interval + settle): latency, server and PostgreSQL
    CPU per update, RSS at the end."""
    rng = random.Random(f"{opts.seed}-{name}")  # noqa: S311 -- phases, not secrets
    lat: list[tuple[float, float]] = []  # (sent at, s after the window's start; latency s)
    errors: Counter[str] = Counter()
    answered: dict[str, int] = Counter()

    async def station(st: V2GStation, offset: float, t0: float) -> None:
        for k in range(opts.updates):
            await asyncio.sleep(max(0.0, t0 + offset + k * opts.interval_s - time.perf_counter()))
            try:
                lat.append((time.perf_counter() - t0, await st.update()))
                answered[st.station_id] += 1
            except CallFailed as exc:
                errors[str(exc)[:80]] += 1

    conn, cpu, rss0 = await asyncpg.connect(server.dsn), WindowCpu(server), server.rss_mb()
    pg = PgWatch(conn, opts.interval_s)
    try:
        await pg.begin()
        t0 = time.perf_counter()
        end = t0 + opts.updates * opts.interval_s + opts.settle_s
        run = asyncio.gather(*(station(st, rng.uniform(0, opts.interval_s), t0)
                               for st in stations))
        while not run.done() or time.perf_counter() < end:
            await asyncio.wait([run], timeout=max(0.05, min(1.0, end - time.perf_counter())))
            await pg.look(time.perf_counter() - t0)
        await run
        n, watched = max(len(lat), 1), await pg.done()
    finally:
        await conn.close()
    slots = timeline(lat, opts.interval_s)
    return {"phase": name, "updates": len(lat), "errors": dict(errors), "answered": answered,
            "latency": percentiles([d for _, d in lat]), **cpu.done(pg.cpu.total(), n),
            **watched, "rss_start_mb": rss0, "rss_mb": (rss := server.rss_mb()),
            "rss_growth_kb_per_update": round((rss - rss0) * 1024 / n, 2),
            "timeline": [s | pg.slot(int(s["t_s"] // opts.interval_s)) for s in slots]}


async def idle_cpu_pct(server: Server, seconds: float) -> float:
    """The node's CPU % with every transaction open and no traffic (its background jobs)."""
    t0, cpu0 = time.perf_counter(), server.cpu_s()
    await asyncio.sleep(seconds)
    return round(100 * (server.cpu_s() - cpu0) / (time.perf_counter() - t0), 1)


async def rest_each(api: Api, path: str, bodies: list[dict[str, Any]],
                    ok: int) -> tuple[dict[str, Any], list[Any]]:
    """POST each body to `path` (GATE at a time): REST latency and outcomes, and the answers."""
    async def one(body: dict[str, Any]) -> tuple[int, float, Any]:
        started = time.perf_counter()
        status, answer = await api.call("POST", path, body)
        return status, time.perf_counter() - started, answer

    t0 = time.perf_counter()
    results = await gathered([one(b) for b in bodies])
    return {"seconds": round(time.perf_counter() - t0, 1),
            "statuses": dict(Counter(str(s) for s, _, _ in results)),
            "latency": percentiles([d for _, d, _ in results]),
            "refused": [a for s, _, a in results if s != ok][:3]}, [a for _, _, a in results]


async def start_sessions(owner: Api, stations: list[V2GStation],
                         min_soc: int) -> tuple[dict[str, Any], list[str]]:
    """POST /api/v1/v2g/discharge/start as the owner for every station (each answers the
    SetChargingProfile Accepted); the report and the session ids."""
    report, answers = await rest_each(owner, "/api/v1/v2g/discharge/start", [
        {"chargePointId": st.station_id, "evseId": 1, "minSoc": min_soc} for st in stations], 201)
    report["profiles_accepted"] = sum(st.profiles_set for st in stations)
    return report, [a["session"]["id"] for a in answers if isinstance(a, dict) and "session" in a]


async def stop_sessions(server: Server, owner: Api, session_ids: list[str],
                        stations: list[V2GStation]) -> dict[str, Any]:
    """POST /api/v1/v2g/discharge/stop for every session (ClearChargingProfile, settlement);
    then the sessions' and compensations' statuses."""
    report, _ = await rest_each(owner, "/api/v1/v2g/discharge/stop",
                                [{"sessionId": sid} for sid in session_ids], 200)
    report["profiles_cleared"] = sum(st.profiles_cleared for st in stations)
    conn = await asyncpg.connect(server.dsn)
    try:
        report["db_status"] = dict(Counter(r[0] for r in await conn.fetch(
            "SELECT status FROM v2g_sessions")))
        report["compensations"] = dict(Counter(r[0] for r in await conn.fetch(
            "SELECT status FROM v2g_compensations")))
    finally:
        await conn.close()
    return report


async def checks(server: Server, http: aiohttp.ClientSession,
                 answered: dict[str, int]) -> dict[str, Any]:
    """After the V2G window: sessions live in PostgreSQL and as actors, and every Updated the
    station sent during the window stored as one sample of its session."""
    conn = await asyncpg.connect(server.dsn)
    try:
        rows = await conn.fetch(
            "SELECT s.charge_point_id AS cp, s.status, s.energy_transferred_wh AS wh,"
            " count(e.id) AS samples FROM v2g_sessions s LEFT JOIN v2g_events e"
            " ON e.session_id = s.id AND e.event_type = 'meter' GROUP BY s.id")
    finally:
        await conn.close()
    admin = Api(server.proc.http, http)
    await admin.login()
    status, tree = await admin.call("GET", "/api/v1/admin/actors")
    assert status == 200, tree
    actors = Counter(a["state"].split(",", 1)[0] for a in _walk(tree) if a["kind"] == "V2GSession")
    complete = sum(1 for r in rows if r["samples"] == answered.get(r["cp"], -1))
    return {"sessions": len(rows), "db_status": dict(Counter(r["status"] for r in rows)),
            "actors": dict(actors), "samples_stored": sum(r["samples"] for r in rows),
            "updates_answered": sum(answered.values()), "sessions_all_samples": complete,
            "exported_wh": sum(r["wh"] for r in rows)}


def _walk(node: Any) -> list[dict[str, Any]]:
    nodes = node if isinstance(node, list) else [node]
    return [n for top in nodes for n in (top, *_walk(top.get("children") or []))]


async def measure(opts: Opts) -> dict[str, Any]:
    """Setup, a warm-up round, then the windows: no sessions, N sessions, sessions stopped."""
    ids = [f"CP-V2G-{i:05d}" for i in range(opts.sessions)]
    stations = [V2GStation(sid, f"RFID-{sid}") for sid in ids]
    out: dict[str, Any] = {"benchmark": "v2g", "sessions": opts.sessions,
                           "interval_s": opts.interval_s, "updates_per_phase": opts.updates,
                           "setup": "stations into the tables (profile 0); v2g mode, owner, "
                                    "cards, discharge starts and stops through REST"}
    with tempfile.TemporaryDirectory(prefix="sigec-v2g-bench-") as tmp:
        async with node(opts, Path(tmp)) as server, aiohttp.ClientSession() as http:
            out["memory"] = {"rss_start_mb": server.rss_mb()}
            try:
                owner = await setup(server, http, ids)
                t0 = time.perf_counter()
                await connect(server, stations)
                out["connect_s"] = round(time.perf_counter() - t0, 1)
                out["memory"]["rss_transactions_mb"] = server.rss_mb()
                await windows(server, http, owner, stations, opts, out)
            finally:
                for st in stations:
                    st.close()
                out["server_log"] = log_summary(Path(tmp) / "server.log")
    base, v2g, _ = out["phases"]
    out["memory"] = _memory(out["memory"], base["rss_mb"], v2g["rss_mb"], opts.sessions)
    out["cost"] = _cost(out["phases"])
    return out


async def windows(server: Server, http: aiohttp.ClientSession, owner: Api,
                  stations: list[V2GStation], opts: Opts, out: dict[str, Any]) -> None:
    """The measured part: the same load without, with, then after the sessions."""
    warm = Opts(**{**opts.__dict__, "updates": 1, "settle_s": 0.5})
    await meter_phase(server, stations, warm, "warm-up")
    out["idle_server_cpu_pct"] = await idle_cpu_pct(server, min(opts.interval_s, 5))
    base = await meter_phase(server, stations, opts, "transactions")
    out["starts"], session_ids = await start_sessions(owner, stations, opts.min_soc)
    out["memory"]["rss_sessions_started_mb"] = server.rss_mb()
    v2g = await meter_phase(server, stations, opts, "v2g")
    out["checks"] = await checks(server, http, v2g["answered"])
    await owner.login(OWNER[1], OWNER[2])  # a fresh access token (they last 15 minutes)
    out["stops"] = await stop_sessions(server, owner, session_ids, stations)
    after = await meter_phase(server, stations, opts, "stopped")
    for phase in (base, v2g, after):
        del phase["answered"]
    out["phases"] = [base, v2g, after]


def _memory(mem: dict[str, float], base: float, v2g: float, n: int) -> dict[str, float]:
    return {**mem, "rss_transactions_window_mb": base, "rss_v2g_window_mb": v2g,
            "kb_per_session": round((v2g - base) * 1024 / n, 1),
            "kb_per_session_at_start": round((mem["rss_sessions_started_mb"] - base) * 1024 / n, 1)}


def _cost(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """What a V2G session adds to each meter update: the V2G window against the mean of the
    windows before and after it (the machine drifts), and the ratios."""
    before, v2g, after = phases

    def ref(key: str, sub: str | None = None) -> float | None:
        vals = [p[key] if sub is None else p[key].get(sub) for p in (before, after)]
        return sum(vals) / 2 if None not in vals else None

    def ratio(key: str, sub: str | None = None) -> float | None:
        a, b = ref(key, sub), v2g[key] if sub is None else v2g[key].get(sub)
        return round(b / a, 2) if a and b is not None else None

    return {"server_cpu_us_per_update_added": round(
                v2g["server_cpu_us_per_update"] - (ref("server_cpu_us_per_update") or 0)),
            "pg_cpu_us_per_update_added": round(
                v2g["pg_cpu_us_per_update"] - (ref("pg_cpu_us_per_update") or 0)),
            "server_cpu_ratio": ratio("server_cpu_us_per_update"),
            "pg_cpu_ratio": ratio("pg_cpu_us_per_update"),
            "p50_ratio": ratio("latency", "p50_ms"), "p99_ratio": ratio("latency", "p99_ms")}


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.v2g", description=(
        "N discharge sessions on one inline node, meter values every --interval s: CPU per "
        "update, RSS per session actor, latency with and without sessions (bench/README.md)."))
    p.add_argument("--sessions", type=int, default=1000, help="stations = sessions (1000)")
    p.add_argument("--interval", type=float, default=10.0, help="s between updates (10)")
    p.add_argument("--updates", type=int, default=9, help="updates per station and window (9)")
    p.add_argument("--settle", type=float, default=3.0, help="s added to each window (3)")
    p.add_argument("--short", action="store_true",
                   help="make bench's: 50 sessions, an update every 2 s, 3 per window")
    p.add_argument("--append", action="store_true", help="append the section to RESULTS.md")
    p.add_argument("--server-env", action="append", default=[], metavar="KEY=VALUE",
                   help="extra environment for the node (repeatable)")
    p.add_argument("--dsn", default=os.environ.get("DATABASE_URL") or DEFAULT_DSN)
    p.add_argument("--nats-url", default=os.environ.get("NATS_URL") or DEFAULT_NATS)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    raise_nofile()  # before the server starts: it inherits the limit (one fd per station)
    opts = Opts(args.sessions, args.interval, args.updates, args.settle, dsn=args.dsn,
                nats_url=args.nats_url, server_env=tuple(args.server_env))
    if args.short:
        opts.sessions, opts.interval_s, opts.updates, opts.settle_s = 50, 2.0, 3, 1.0
    result = {"machine": machine(), **asyncio.run(measure(opts))}
    path = write_json(result, name=f"v2g-{int(time.time())}")
    result["json_name"] = path.name
    path.write_text(json.dumps(result, indent=2, default=str))
    print(table(result))
    if args.append:
        with RESULTS_MD.open("a") as fh:
            fh.write("\n" + section(result, " ".join(["python -m bench.v2g", *argv])) + "\n")
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
