"""Stripe webhooks applied per second on PostgreSQL: the signed HTTP route beside the bare ledger.

    python -m bench.webhooks [--events 1000] [--concurrency 1,8,32] [--duplicates 0.1] [--append]

Three paths, side by side in one run, on one scratch database (created on DATABASE_URL's server,
migrated, dropped), each run on payments of its own (one user each, `requires_action`):
- `route`: `POST /api/v1/payments/webhooks/stripe` of an inline server (a child process serving
  the real aiohttp app with the real PaymentsWiring on its own pool): Stripe-signed raw bodies,
  the signature checked, then PgPayments.apply (dedupe row, payment locked, credit, outbox).
- `store`: PaymentService.apply in this process: the route's work minus HTTP and the signature.
- `floor`: the bare ledger posting with the dedupe: one transaction of INSERT processed_webhooks
  ... ON CONFLICT DO NOTHING and, when new, pg_ledger.post_on (the credit the store posts).
A share of the sends (`--duplicates`) replays an event already in the run (same event id): it
must change nothing. Closed loop, `--concurrency` senders. Afterwards every run's payments must
have exactly one credit each and the drift view must be empty (`credited_once`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from aiohttp import web

from api.app import create_app
from api.context import AppContext
from bench.report import RESULTS_MD, machine, write_json
from bench.txevents import DEFAULT_DSN, HASH, scratch_database
from sigec_actors.adapters.pg import DB_FAILURES, create_pool, transaction
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_ledger import PgLedgerRepository, post_on
from sigec_actors.config import Settings, load_settings
from sigec_actors.domain.ledger import AccountKind, NewJournalEntry, PostingIn
from sigec_actors.payments.fake_stripe import sign
from sigec_actors.payments.model import SOURCE_TOPUP, ProviderEvent
from sigec_actors.payments.wiring import EXTRAS_KEY, PaymentsWiring, settings_for_test
from sigec_actors.ports import DbPool

SECRET = "whsec_bench_webhooks"  # noqa: S105 -- the inline server's test secret
HOOK = "/api/v1/payments/webhooks/stripe"
PATHS = ("route", "store", "floor")
Send = Callable[[dict[str, Any]], Awaitable[None]]


def bench_settings() -> Settings:
    """The node's settings, payments on the fake provider (never called on this path)."""
    base = load_settings({"SIGEC_DATA_DIR": tempfile.mkdtemp(prefix="bench-webhooks-")})
    return settings_for_test(base, stripe_api_base="http://127.0.0.1:9",
                             stripe_api_key="sk_test_bench", webhook_secret=SECRET)


async def _pool(url: str, settings: Settings) -> DbPool:
    db = settings.database
    return await create_pool(url, db.pool_min, db.pool_max, command_timeout=db.command_timeout_s)


async def seed(pool: DbPool, count: int, provider: str) -> list[dict[str, Any]]:
    """`count` users, each with a wallet and one payment awaiting its webhook: the events."""
    tag, amounts = uuid.uuid4().hex[:8], [random.randint(100, 50_000) for _ in range(count)]  # noqa: S311
    async with transaction(pool) as conn:
        users = [r["id"] for r in await conn.fetch(
            "INSERT INTO users (name, email, password_hash) SELECT 'bench', 'wh' || i || $1 ||"
            " '@bench.local', $2 FROM generate_series(1, $3) AS i RETURNING id",
            f"-{tag}", HASH, count)]
        await conn.execute(
            "INSERT INTO ledger_accounts (kind, user_id, allow_negative)"
            " SELECT 'user_wallet', u, false FROM unnest($1::uuid[]) AS u", users)
        rows = await conn.fetch(
            "INSERT INTO payments (user_id, provider, provider_payment_id, method,"
            " amount_centavos, status) SELECT u, $1, 'pi_' || md5(u::text), 'pix', a,"
            " 'requires_action' FROM unnest($2::uuid[], $3::bigint[]) AS t(u, a)"
            " RETURNING id, user_id, provider_payment_id, amount_centavos",
            provider, users, amounts)
    return [_event(dict(r)) for r in rows]


def _event(payment: dict[str, Any]) -> dict[str, Any]:
    """A Stripe `payment_intent.succeeded` event for one payment (as the fake sends it)."""
    intent = {"id": payment["provider_payment_id"], "object": "payment_intent",
              "amount": payment["amount_centavos"], "amount_received":
              payment["amount_centavos"], "currency": "brl", "status": "succeeded",
              "metadata": {"payment_id": str(payment["id"])}}
    return {"id": "evt_bench" + uuid.uuid4().hex, "object": "event",
            "type": "payment_intent.succeeded", "created": int(time.time()),
            "livemode": False, "data": {"object": intent},
            "_user": str(payment["user_id"])}


def plan(events: list[dict[str, Any]], duplicates: float, seed_: int) -> list[dict[str, Any]]:
    """Every event once, and replays of `duplicates` x len(events) of them, mixed in."""
    rng = random.Random(seed_)  # noqa: S311 -- load shape, not secrets
    sends = [*events, *rng.choices(events, k=round(duplicates * len(events)))]
    rng.shuffle(sends)
    return sends


def provider_event(event: dict[str, Any]) -> ProviderEvent:
    obj = event["data"]["object"]
    return ProviderEvent(event_id=event["id"], type=event["type"],
                         provider_payment_id=obj["id"],
                         payment_id=uuid.UUID(obj["metadata"]["payment_id"]), payload=obj)


def floor_path(pool: DbPool, provider: str, clearing: uuid.UUID,
               wallets: dict[str, uuid.UUID]) -> Send:
    async def send(event: dict[str, Any]) -> None:
        obj = event["data"]["object"]
        async with transaction(pool) as conn:
            fresh = await conn.fetchval(
                "INSERT INTO processed_webhooks (provider, event_id, payload) VALUES ($1, $2, $3)"
                " ON CONFLICT DO NOTHING RETURNING event_id", provider, event["id"], obj)
            if fresh is not None:
                await post_on(conn, NewJournalEntry(
                    SOURCE_TOPUP, obj["metadata"]["payment_id"],
                    (PostingIn(clearing, -obj["amount"]),
                     PostingIn(wallets[event["_user"]], obj["amount"]))))
    return send


def route_path(session: aiohttp.ClientSession, url: str) -> Send:
    async def send(event: dict[str, Any]) -> None:
        raw = event["_raw"]
        async with session.post(url, data=raw, headers={
                "Stripe-Signature": event["_signature"],
                "Content-Type": "application/json"}) as resp:
            await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}")
    return send


async def closed_loop(send: Send, sends: list[dict[str, Any]],
                      concurrency: int) -> dict[str, Any]:
    """`concurrency` senders take the next send as soon as their last one is answered."""
    queue, lat, errors = iter(sends), [], Counter[str]()

    async def sender() -> None:
        for event in queue:
            t0 = time.perf_counter()
            try:
                await send(event)
            except (*DB_FAILURES, aiohttp.ClientError, RuntimeError) as exc:
                errors[type(exc).__name__ if not isinstance(exc, RuntimeError)
                       else str(exc)] += 1
                continue
            lat.append(time.perf_counter() - t0)

    start = time.perf_counter()
    await asyncio.gather(*(sender() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    lat.sort()
    pct = {name: round(1000 * lat[min(len(lat) - 1, int(q * len(lat)))], 2)
           for name, q in (("p50_ms", .5), ("p99_ms", .99))} if lat else {}
    return {"sends": len(sends), "seconds": round(wall, 3), "errors": dict(errors),
            "webhooks_per_s": round(len(lat) / wall, 1), **pct}


def _serve(dsn: str, ports: Any) -> None:
    """Child process: the real app with the real payments wiring on its own pool."""
    async def main() -> None:
        settings = bench_settings()
        pool = await _pool(dsn, settings)
        wiring = PaymentsWiring(settings, pool, PgLedgerRepository(pool), PgAlerts(pool))
        runner = web.AppRunner(create_app(AppContext(settings=settings,
                                                     extras={EXTRAS_KEY: wiring})),
                               access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        ports.put(runner.addresses[0][1])
        await asyncio.Event().wait()  # until the parent terminates this process

    asyncio.run(main())


class InlineServer:
    """The route's server in a child process (a node's own core), stopped by its pid."""

    def __init__(self, dsn: str) -> None:
        ctx = multiprocessing.get_context("spawn")
        self._ports = ctx.Queue()
        self._proc = ctx.Process(target=_serve, args=(dsn, self._ports), daemon=True)

    def start(self) -> str:
        self._proc.start()
        return f"http://127.0.0.1:{self._ports.get(timeout=60)}{HOOK}"

    def stop(self) -> None:
        if self._proc.pid is not None and self._proc.is_alive():
            self._proc.terminate()
        self._proc.join(timeout=10)


async def credited_once(pool: DbPool, events: list[dict[str, Any]]) -> bool:
    """Each payment of the run credited exactly once, and no account drifting."""
    ids = [e["data"]["object"]["metadata"]["payment_id"] for e in events]
    async with pool.acquire() as conn:
        entries = await conn.fetchval(
            "SELECT count(*) FROM journal_entries WHERE source_type = $1"
            " AND source_id = ANY($2::text[])", SOURCE_TOPUP, ids)
        postings = await conn.fetchval(
            "SELECT count(*) FROM postings p JOIN journal_entries j ON j.id = p.journal_entry_id"
            " WHERE j.source_type = $1 AND j.source_id = ANY($2::text[])", SOURCE_TOPUP, ids)
        drift = await conn.fetchval("SELECT count(*) FROM ledger_balance_drift")
    return bool(entries == len(ids) and postings == 2 * len(ids) and drift == 0)


async def _paths(pool: DbPool, settings: Settings, route_url: str,
                 session: aiohttp.ClientSession) -> dict[str, Send]:
    ledger = PgLedgerRepository(pool)
    wiring = PaymentsWiring(settings, pool, ledger, PgAlerts(pool))
    clearing = (await ledger.account(AccountKind.PSP_CLEARING)).id
    async with pool.acquire() as conn:
        wallets = {str(r["user_id"]): r["id"] for r in await conn.fetch(
            "SELECT id, user_id FROM ledger_accounts WHERE kind = 'user_wallet'")}

    async def store(event: dict[str, Any]) -> None:
        await wiring.service.apply(provider_event(event))

    return {"route": route_path(session, route_url), "store": store,
            "floor": floor_path(pool, wiring.provider.name, clearing, wallets)}


async def measure(opts: argparse.Namespace) -> dict[str, Any]:
    """Every path at every concurrency, side by side, on one scratch database."""
    settings = bench_settings()
    provider = settings.payments.provider
    async with scratch_database(opts.dsn) as url:
        pool = await _pool(url, settings)
        server = InlineServer(url)
        try:
            events = {(p, c): await seed(pool, opts.events, provider)
                      for c in opts.concurrency for p in PATHS}
            route_url = server.start()
            async with aiohttp.ClientSession() as session:
                paths = await _paths(pool, settings, route_url, session)
                runs = [await _run(pool, paths, p, c, events[(p, c)], opts)
                        for c in opts.concurrency for p in PATHS]
            async with pool.acquire() as conn:
                version = str(await conn.fetchval("SHOW server_version")).split()[0]
        finally:
            server.stop()
            await pool.close()
    return {"benchmark": "webhooks", "server": f"PostgreSQL {version}",
            "pool_max": settings.database.pool_max, "events_per_run": opts.events,
            "duplicate_share": opts.duplicates, "runs": runs, "ratios": ratios(runs)}


async def _run(pool: DbPool, paths: dict[str, Send], path: str, concurrency: int,
               events: list[dict[str, Any]], opts: argparse.Namespace) -> dict[str, Any]:
    sends = plan(events, opts.duplicates, concurrency)
    for event in events:  # the raw body and its header, made before the clock starts
        body = {k: v for k, v in event.items() if not k.startswith("_")}
        event["_raw"] = json.dumps(body).encode()
        event["_signature"] = sign(event["_raw"], SECRET)
    result = await closed_loop(paths[path], sends, concurrency)
    result = {"path": path, "concurrency": concurrency, "fresh": len(events),
              "duplicates": len(sends) - len(events), **result,
              "credited_once": await credited_once(pool, events)}
    print(f"webhooks: {path:5s} c={concurrency:<3d} {result['webhooks_per_s']} /s, p50 "
          f"{result.get('p50_ms')} p99 {result.get('p99_ms')} ms, errors {result['errors']},"
          f" credited once {result['credited_once']}", file=sys.stderr, flush=True)
    return result


def ratios(runs: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per concurrency: route / floor and store / floor of webhooks per second."""
    by = {(r["path"], r["concurrency"]): r["webhooks_per_s"] for r in runs}
    out: dict[str, dict[str, float]] = {}
    for (path, c), rate in by.items():
        floor = by.get(("floor", c))
        if path != "floor" and floor:
            out.setdefault(f"c{c}", {})[f"{path}/floor"] = round(rate / floor, 2)
    return out


def table(result: dict[str, Any]) -> str:
    rows = ["| path | concurrency | webhooks/s | p50 ms | p99 ms | / floor | sends (replays)"
            " | errors | credited once |", "|---|---|---|---|---|---|---|---|---|"]
    for r in result["runs"]:
        ratio = result["ratios"].get(f"c{r['concurrency']}", {}).get(f"{r['path']}/floor")
        rows.append(
            f"| {r['path']} | {r['concurrency']} | {r['webhooks_per_s']:,.1f} | "
            f"{r.get('p50_ms', '-')} | {r.get('p99_ms', '-')} | "
            f"{'1.00' if r['path'] == 'floor' else f'{ratio:.2f}' if ratio else '-'}x | "
            f"{r['sends']} ({r['duplicates']}) | "
            f"{', '.join(f'{k} {v}' for k, v in r['errors'].items()) or 'none'} | "
            f"{'yes' if r['credited_once'] else '**no**'} |")
    return "\n".join(rows)


def section(result: dict[str, Any], command: str) -> str:
    """The block appended to RESULTS.md (the paths: bench/README.md)."""
    m = result["machine"]
    return (f"## {m['date']} · commit `{m['commit']}` · Stripe webhooks applied per second\n\n"
            f"Machine: {m['nproc']} cores, {m['cpu']}, load average at start "
            f"{m['loadavg_at_start']}. Command: `{command}`. {result['server']}, pool max "
            f"{result['pool_max']} (the node's) per process; {result['events_per_run']} fresh "
            f"payments per run plus {result['duplicate_share']:.0%} replays; `route`, `store` "
            f"and `floor`: bench/README.md. Raw JSON: `bench/out/{result.get('json_name')}`."
            f"\n\n{table(result)}\n")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench.webhooks", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dsn", default=os.environ.get("DATABASE_URL") or DEFAULT_DSN)
    p.add_argument("--events", type=int, default=1000, help="fresh payments per run")
    p.add_argument("--concurrency", default="1,8,32", help="senders, comma-separated")
    p.add_argument("--duplicates", type=float, default=0.1, help="replayed share of sends")
    p.add_argument("--short", action="store_true", help="200 events per run")
    p.add_argument("--append", action="store_true", help="append the table to RESULTS.md")
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser().parse_args(argv)
    args.concurrency = [int(x) for x in args.concurrency.split(",") if x.strip()]
    if args.short:
        args.events = 200
    result = {"machine": machine(), **asyncio.run(measure(args))}
    path = write_json(result, name=f"webhooks-{int(time.time())}")
    result["json_name"] = path.name
    path.write_text(json.dumps(result, indent=2, default=str))
    print(table(result))
    if args.append:
        with RESULTS_MD.open("a") as fh:
            fh.write("\n" + section(result, " ".join(["python -m bench.webhooks", *argv])) + "\n")
    print(json.dumps(result, default=str))
    return 0 if all(r["credited_once"] and not r["errors"] for r in result["runs"]) else 1


if __name__ == "__main__":
    sys.exit(main())
