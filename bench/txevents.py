"""Durable TransactionEvent commit rate on the real PostgreSQL (issue 7), beside a floor.

    python -m bench.txevents [--concurrency 50,200] [--rate 500] [--short] [--profile] [--append]

`sigec` drives what the ChargePoint actor awaits before it sends the CALLRESULT:
`TransactionsWiring(pool, settings.billing).service.handle(station, request)` (dedupe, transaction
row, meter values, outbox row, one commit; billing on Ended), with the node's pool settings, on a
scratch database (created on DATABASE_URL's server, migrated, dropped). Stations run sessions
Started -> Updated x k -> Ended back to back, one event in flight. `floor`, in the same run on the
same pool: one INSERT ... ON CONFLICT DO NOTHING per event in its own transaction. (a) closed
loop, N stations: events/s, latency; (b) open loop, Poisson arrivals at a fixed rate, latency from
the scheduled arrival. Prints the markdown table, then the JSON on one line (also in bench/out/).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import os
import pstats
import random
import sys
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgspec
import psutil

from bench.report import RESULTS_MD, machine, txevents_table, write_json
from sigec_actors.adapters.migrate import apply_migrations
from sigec_actors.adapters.pg import create_pool, transaction
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.adapters.pg_users import PgIdTokenRepository, PgUserRepository
from sigec_actors.config import load_settings
from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.domain.records import IdTokenType, NewStation, NewUser
from sigec_actors.dsn import with_database
from sigec_actors.ocpp.generated.v201 import TransactionEventRequest
from sigec_actors.ports import DbPool
from sigec_actors.transactions_wiring import TransactionsWiring

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"  # never verified here
FLOOR_SQL = "INSERT INTO bench_floor VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
TARGET_RATE, TARGET_P99_MS = 2000.0, 50.0
WARMUP_S = 1.0
Event = tuple[str, str, int, TransactionEventRequest]  # station, transactionId, seqNo, request
Call = Callable[[Event], Awaitable[Any]]


@dataclass
class Station:
    """One simulated station: sessions Started -> Updated x `updates` -> Ended, back to back."""

    sid: str
    token: str
    updates: int
    session: int = 0
    seq: int = 0
    wh: float = 1000.0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    phase: str = ""

    def next_event(self, phase: str) -> Event:
        if phase != self.phase:  # every load starts each station on a new session (Started)
            self.phase, self.seq = phase, 0
        kind = "Started" if self.seq == 0 else "Ended" if self.seq > self.updates else "Updated"
        tx, self.wh = f"{phase}-{self.session}", self.wh + 250.0
        payload = _payload(kind, tx, self.seq, self.wh, self.token)
        event = (self.sid, tx, self.seq, msgspec.convert(payload, TransactionEventRequest))
        self.session, self.seq = (self.session + 1, 0) if kind == "Ended" else \
            (self.session, self.seq + 1)
        return event


def _payload(kind: str, tx: str, seq: int, wh: float, token: str) -> dict[str, Any]:
    """The load harness's frame shape: one energy register per event; a card on Started."""
    stamp = datetime.now(UTC).isoformat()
    trigger = {"Started": "Authorized", "Updated": "MeterValuePeriodic",
               "Ended": "StopAuthorized"}[kind]
    info = {"transactionId": tx, "chargingState": "Charging"} if kind != "Ended" else \
        {"transactionId": tx, "chargingState": "EVConnected", "stoppedReason": "Local"}
    out: dict[str, Any] = {
        "eventType": kind, "timestamp": stamp, "triggerReason": trigger, "seqNo": seq,
        "transactionInfo": info, "meterValue": [{"timestamp": stamp, "sampledValue": [
            {"value": wh, "measurand": "Energy.Active.Import.Register"}]}]}
    if kind == "Started":
        out["evse"] = {"id": 1, "connectorId": 1}
        out["idToken"] = {"idToken": token, "type": "ISO14443"}
    return out


@asynccontextmanager
async def scratch_database(dsn: str) -> AsyncIterator[str]:
    """A fresh, migrated database on `dsn`'s server (plus the floor's table); dropped after."""
    name = f"bench_tx_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
        conn = await asyncpg.connect(with_database(dsn, name))
        try:
            await apply_migrations(conn)
            await conn.execute("CREATE TABLE bench_floor (station text, tx text, seq int,"
                               " PRIMARY KEY (station, tx, seq))")
        finally:
            await conn.close()
        yield with_database(dsn, name)
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


async def register(pool: DbPool, count: int, updates: int) -> list[Station]:
    """Stations (as `sigec station add` does), each with a funded user and its own card."""
    stations, users = PgStationRepository(pool), PgUserRepository(pool)
    tokens, ledger = PgIdTokenRepository(pool), PgLedgerRepository(pool)
    psp, run = await ledger.account(AccountKind.PSP_CLEARING), uuid.uuid4().hex[:6]

    async def one(i: int) -> Station:
        sid, token = f"BENCHTX{run}{i:05d}", f"CARD{run}{i:05d}"
        await stations.register(NewStation(id=sid, security_profile=0))
        user = await users.create(NewUser(sid, f"{sid.lower()}@bench.local", HASH))
        await tokens.add(user.id, token, IdTokenType.ISO14443)
        wallet = await ledger.account(AccountKind.USER_WALLET, user.id)
        await ledger.post(NewJournalEntry("bench_topup", sid, (
            PostingIn(wallet.id, 10_000_000), PostingIn(psp.id, -10_000_000))))
        return Station(sid, token, updates)

    return [st for start in range(0, count, 50) for st in await asyncio.gather(
        *(one(i) for i in range(start, min(start + 50, count))))]


@dataclass
class Recorder:
    """Completions (end time, latency) and errors by kind; summarised over a window."""

    done: list[tuple[float, float]] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)

    async def timed(self, call: Call, event: Event, since: float) -> None:
        try:
            await call(event)
            self.done.append((end := time.perf_counter(), end - since))
        except Exception as exc:  # counted; the station goes on (as it would retry)
            self.errors[type(exc).__name__] += 1

    def summary(self, start: float, end: float) -> dict[str, Any]:
        lat = sorted(d for t, d in self.done if start <= t <= end)
        out: dict[str, Any] = {"events": len(lat), "errors": dict(self.errors),
                               "completed": len(self.done),
                               "events_per_s": round(len(lat) / max(end - start, 1e-9), 1)}
        return out | ({name: round(1000 * lat[min(len(lat) - 1, int(q * len(lat)))], 2) for
                       name, q in (("p50_ms", .5), ("p95_ms", .95), ("p99_ms", .99),
                                   ("max_ms", 1))} if lat else {})


async def closed_loop(call: Call, stations: list[Station], phase: str, duration_s: float,
                      warmup_s: float) -> dict[str, Any]:
    """Every station sends its next event as soon as the previous one is answered."""
    rec, stop = Recorder(), asyncio.Event()

    async def run(st: Station) -> None:
        while not stop.is_set():
            event = st.next_event(phase)
            await rec.timed(call, event, time.perf_counter())

    start = time.perf_counter()
    tasks = [asyncio.create_task(run(st)) for st in stations]
    await asyncio.sleep(warmup_s + duration_s)
    stop.set()
    await asyncio.wait(tasks, timeout=30)
    return {"load": f"closed loop, {len(stations)} stations",
            **rec.summary(start + warmup_s, start + warmup_s + duration_s)}


async def open_loop(call: Call, stations: list[Station], phase: str, rate: float,
                    duration_s: float, drain_s: float, seed: int = 7) -> dict[str, Any]:
    """Poisson arrivals at `rate`/s, round robin over the stations (a busy one queues); latency
    from the scheduled arrival; unanswered `drain_s` after the end = `unfinished` (their age
    enters the percentiles)."""
    rec, rng = Recorder(), random.Random(seed)  # noqa: S311 -- arrival times, not secrets
    pending: dict[asyncio.Task[None], float] = {}

    async def one(st: Station, scheduled: float) -> None:
        async with st.lock:  # FIFO: a station's events stay in order, one in flight
            await rec.timed(call, st.next_event(phase), scheduled)

    start = time.perf_counter()
    due, i = start, 0
    while due < start + duration_s:
        while due <= time.perf_counter() and due < start + duration_s:
            task = asyncio.create_task(one(stations[i % len(stations)], due))
            pending[task] = due
            task.add_done_callback(lambda t: pending.pop(t, None))
            i, due = i + 1, due + rng.expovariate(rate)
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
    if pending:
        await asyncio.wait(list(pending), timeout=drain_s)
    left, stopped = dict(pending), time.perf_counter()
    for task in left:
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)
    last = max((t for t, _ in rec.done), default=stopped)
    rec.done += [(stopped, stopped - scheduled) for scheduled in left.values()]
    out = rec.summary(start, stopped)
    out["events"] -= len(left)
    out["events_per_s"] = round(out["events"] / max(last - start, duration_s), 1)
    if left:
        out["errors"]["unfinished"] = len(left)
    return {"load": f"open loop, {rate:g} events/s offered", "offered": i, **out}


class Probe:
    """Around a run: CPU of this process and of the backends, their states, maybe a cProfile."""

    def __init__(self, dsn: str, profile: bool) -> None:
        self._dsn, self._db, self._profile = dsn, dsn.rsplit("/", 1)[1], profile

    async def around(self, name: str, run: Awaitable[dict[str, Any]]) -> dict[str, Any]:
        conn, states, pg = await asyncpg.connect(self._dsn), Counter[str](), BackendCpu()
        await self._look(conn, states, pg)
        states.clear()
        t0, py0 = time.perf_counter(), time.process_time()
        sampler = asyncio.create_task(self._sample(conn, states, pg))
        profiler = cProfile.Profile() if self._profile and name == "sigec" else None
        try:
            if profiler:
                profiler.enable()
            result = await run
        finally:
            if profiler:
                profiler.disable()
            sampler.cancel()
            await asyncio.gather(sampler, return_exceptions=True)
            await conn.close()
        wall, py, total = time.perf_counter() - t0, time.process_time() - py0, pg.total()
        per, n = 1e6 / max(result["completed"], 1), max(sum(states.values()), 1)
        result = {"path": name, **result, "python_cpu_pct": round(100 * py / wall, 1),
                  "pg_backends_cpu_pct": round(100 * total / wall, 1), "python_cpu_us_per_event":
                  round(py * per), "pg_cpu_us_per_event": round(total * per),
                  "pg_states": {k: round(v / n, 3) for k, v in states.most_common(6)}}
        print(f"txevents: {name:5s} {result['load']}: {result['events_per_s']} ev/s, p50 "
              f"{result.get('p50_ms')} p99 {result.get('p99_ms')} ms, errors "
              f"{result['errors']}", file=sys.stderr, flush=True)
        if profiler:
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        return result

    async def _look(self, conn: asyncpg.Connection, states: Counter[str], pg: BackendCpu) -> None:
        rows = await conn.fetch("SELECT pid, state, wait_event_type AS t, wait_event AS w FROM"
                                " pg_stat_activity WHERE datname = $1 AND pid <>"
                                " pg_backend_pid()", self._db)
        for r in rows:
            states[f"{r['state']}" + (f" ({r['t']}:{r['w']})" if r["w"] else "")] += 1
        pg.update([r["pid"] for r in rows])

    async def _sample(self, conn: asyncpg.Connection, states: Counter[str],
                      pg: BackendCpu) -> None:
        while True:
            await asyncio.sleep(0.02)
            await self._look(conn, states, pg)


class BackendCpu:
    """CPU seconds of backends seen so far: a replaced or closed one keeps its last reading."""

    def __init__(self) -> None:
        self._seen: dict[int, tuple[psutil.Process, float, float]] = {}

    def update(self, pids: list[int]) -> None:
        for pid in {*pids, *self._seen}:
            try:
                proc = self._seen[pid][0] if pid in self._seen else psutil.Process(pid)
                now = sum(proc.cpu_times()[:2])
            except psutil.Error:
                continue
            self._seen[pid] = (proc, self._seen.get(pid, (proc, now))[1], now)

    def total(self) -> float:
        return sum(last - first for _, first, last in self._seen.values())


async def measure(opts: argparse.Namespace) -> dict[str, Any]:
    """Both paths, side by side, on one scratch database and one pool (the node's settings)."""
    settings = load_settings()
    async with scratch_database(opts.dsn) as url:
        db = settings.database
        pool = await create_pool(url, db.pool_min, db.pool_max,
                                 command_timeout=db.command_timeout_s)
        try:
            wiring = TransactionsWiring(pool, settings.billing)
            stations = await register(pool, max(*opts.concurrency, opts.open_stations),
                                      opts.updates)
            runs = await _runs(opts, _paths(pool, wiring), stations, Probe(url, opts.profile))
            async with pool.acquire() as conn:  # no outbox relay ran: the rows written stay
                left = await conn.fetchval("SELECT count(*) FROM event_outbox")
                server = " ".join([str(await conn.fetchval("SHOW server_version")).split()[0],
                                   "synchronous_commit", await conn.fetchval(
                                       "SHOW synchronous_commit")])
        finally:
            await pool.close()
    return {"benchmark": "txevents", "server": server, "outbox_rows_left": left,
            "pool_max": db.pool_max, "runs": runs,
            "updates_per_session": opts.updates, "open_stations": opts.open_stations,
            "targets": _targets(runs)}


def _paths(pool: DbPool, wiring: TransactionsWiring) -> dict[str, Call]:
    async def floor(e: Event) -> None:
        async with transaction(pool) as conn:
            await conn.execute(FLOOR_SQL, e[0], e[1], e[2])

    async def sigec(e: Event) -> None:
        await wiring.service.handle(e[0], e[3])

    return {"floor": floor, "sigec": sigec}


async def _runs(opts: argparse.Namespace, paths: dict[str, Call], stations: list[Station],
                probe: Probe) -> list[dict[str, Any]]:
    runs: list[dict[str, Any]] = []
    for n in opts.concurrency:
        for name, call in paths.items():  # side by side, one after the other
            runs.append({"concurrency": n, **await probe.around(name, closed_loop(
                call, stations[:n], f"{name}-c{n}", opts.duration, WARMUP_S))})
    for name, call in paths.items():
        runs.append({"rate": opts.rate, **await probe.around(name, open_loop(
            call, stations[:opts.open_stations], f"{name}-open", opts.rate, opts.rate_s,
            opts.drain_s))})
    return runs


def _targets(runs: list[dict[str, Any]]) -> dict[str, Any]:
    best = max((r["events_per_s"] for r in runs if r["path"] == "sigec" and "concurrency" in r),
               default=0.0)
    opened = next((r for r in runs if r["path"] == "sigec" and "rate" in r), {})
    p99 = opened.get("p99_ms")
    return {"target_rate": TARGET_RATE, "target_p99_ms": TARGET_P99_MS,
            "max_events_per_s": best, "max_rate_met": best >= TARGET_RATE,
            "p99_ms_at_rate": p99, "rate": opened.get("rate"),
            "p99_met": p99 is not None and p99 < TARGET_P99_MS and not opened.get("errors")}


def section(result: dict[str, Any], command: str) -> str:
    """The block appended to RESULTS.md (what the paths and loads are: bench/README.md)."""
    m = result["machine"]
    return (f"## {m['date']} · commit `{m['commit']}` · durable TransactionEvent commit rate\n\n"
            f"Machine: {m['nproc']} cores, {m['cpu']}, load average at start "
            f"{m['loadavg_at_start']}. Command: `{command}`. PostgreSQL {result['server']}, pool "
            f"max {result['pool_max']} (the node's), Updated x {result['updates_per_session']} "
            f"per session, open loop over {result['open_stations']} stations; `sigec`, `floor` "
            f"and the loads: bench/README.md. Raw JSON: `bench/out/{result.get('json_name')}`."
            f"\n\n{txevents_table(result)}\n")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.txevents", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dsn", default=os.environ.get("DATABASE_URL") or DEFAULT_DSN)
    p.add_argument("--concurrency", default="50,200", help="stations, comma-separated")
    p.add_argument("--duration", type=float, default=10.0, help="closed-loop window, s")
    p.add_argument("--rate", type=float, default=500.0, help="open loop: events/s offered")
    p.add_argument("--rate-s", type=float, default=20.0, help="open loop: duration, s")
    p.add_argument("--drain-s", type=float, default=10.0, help="open loop: then unfinished")
    p.add_argument("--open-stations", type=int, default=200, help="open loop: stations")
    p.add_argument("--updates", type=int, default=10, help="Updated events per session")
    p.add_argument("--short", action="store_true", help="make bench's: 50 stations, 4 s + 6 s")
    p.add_argument("--profile", action="store_true", help="cProfile sigec's runs (stderr)")
    p.add_argument("--append", action="store_true", help="append the table to RESULTS.md")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.concurrency = [int(x) for x in args.concurrency.split(",") if x.strip()]
    if args.short:  # make bench: 50 stations for 4 s, open loop for 6 s
        args.concurrency, args.duration, args.rate_s, args.drain_s = [50], 4.0, 6.0, 4.0
    result = {"machine": machine(), **asyncio.run(measure(args))}
    path = write_json(result, name=f"txevents-{int(time.time())}")
    result["json_name"] = path.name
    path.write_text(json.dumps(result, indent=2, default=str))
    print(txevents_table(result))
    if args.append:
        with RESULTS_MD.open("a") as fh:
            fh.write("\n" + section(result, " ".join(["python -m bench.txevents", *argv])) + "\n")
    print(json.dumps(result, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
