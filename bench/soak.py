"""Soak: an inline node under steady stations for long; RSS, fds and DB connections stay flat."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import psutil

from sigec_actors.dsn import with_database
from sigec_actors.embedded import EmbeddedNats, EmbeddedPostgres
from tests.fault.conftest import start_node
from tests.fault.stations import HeartbeatStation, TxStation, check_stored_once
from tests.fault.test_connection_faults import _connect_all, _port, _register

OUT = Path(__file__).parent / "out"
METRICS = ("rss_mb", "fds", "db_connections", "outbox_unsent")


@dataclass
class Soak:
    duration_s: float
    stations: int
    interval_s: float
    kill_every_s: float
    samples: list[dict[str, float]] = field(default_factory=list)
    heartbeats: int = 0
    terminations: int = 0


@contextlib.contextmanager
def services() -> Iterator[tuple[str, str]]:
    """DATABASE_URL and NATS_URL from the environment, or embedded ones in a temp dir."""
    db, bus = os.environ.get("DATABASE_URL"), os.environ.get("NATS_URL")
    with tempfile.TemporaryDirectory(prefix="sigec-soak-") as tmp:
        pg = None if db else EmbeddedPostgres(Path(tmp) / "pg", database="postgres")
        nats = None if bus else EmbeddedNats(Path(tmp) / "nats")
        try:
            yield (db or pg.start()), (bus or nats.start())  # type: ignore[union-attr]
        finally:
            for svc in (nats, pg):
                if svc is not None:
                    svc.stop()


async def _admin(url: str, sql: str) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def _sample(soak: Soak, pid: int, dsn: str, started: float) -> None:
    proc = psutil.Process(pid)
    conns = await _admin(dsn, "SELECT count(*) FROM pg_stat_activity WHERE"
                              " datname = current_database() AND pid <> pg_backend_pid()")
    unsent = await _admin(dsn, "SELECT count(*) FROM event_outbox WHERE sent_at IS NULL")
    soak.samples.append({"t_s": round(time.monotonic() - started, 1),
                         "rss_mb": round(proc.memory_info().rss / 2**20, 1),
                         "fds": proc.num_fds(), "db_connections": int(conns),
                         "outbox_unsent": int(unsent)})


async def _loop(soak: Soak, pid: int, dsn: str, beaters: list[HeartbeatStation]) -> None:
    started = last_kill = time.monotonic()
    while (now := time.monotonic()) < started + soak.duration_s:
        await asyncio.gather(*(s.heartbeat() for s in beaters))
        soak.heartbeats += len(beaters)
        if soak.kill_every_s and now - last_kill >= soak.kill_every_s:
            soak.terminations += int(await _admin(dsn, (
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE"
                " datname = current_database() AND pid <> pg_backend_pid()")))
            last_kill = now
        await _sample(soak, pid, dsn, started)
        await asyncio.sleep(max(0.0, soak.interval_s - (time.monotonic() - now)))


async def run(soak: Soak, server_url: str, nats_url: str, tmp: Path) -> dict[str, Any]:
    """Start a node on a fresh database, run the soak, return the report (stations checked)."""
    name = f"sigec_soak_{uuid.uuid4().hex[:10]}"
    await _admin(server_url, f'CREATE DATABASE "{name}"')
    dsn = with_database(server_url, name)
    node = await start_node(tmp, dsn, nats_url, SIGEC_LOG__LEVEL="warning")
    stop = asyncio.Event()
    tx = [TxStation(s, node.server.ocpp, f"RFID-{s}", stop) for s in node.ids]
    ids = [f"CP-SOAK-{i}" for i in range(soak.stations)]
    beaters = [HeartbeatStation(i, "127.0.0.1", _port(node.server)) for i in ids]
    try:
        await _register(dsn, ids)
        await _connect_all(beaters, 120)
        runs = asyncio.gather(*(s.run() for s in tx))
        assert node.server.proc is not None
        try:
            await _loop(soak, node.server.proc.pid, dsn, beaters)
        finally:
            stop.set()
        await asyncio.wait_for(runs, 120)
        acked = await check_stored_once(dsn, tx)
    finally:
        for s in beaters:
            s.close()
        node.server.kill()
        await _admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return report(soak, acked)


def report(soak: Soak, acked: int) -> dict[str, Any]:
    summary = {m: {"first": soak.samples[0][m], "last": soak.samples[-1][m],
                   "max": max(s[m] for s in soak.samples)} for m in METRICS}
    rss, fds = summary["rss_mb"], summary["fds"]
    flat = {"rss": rss["last"] <= max(rss["first"] * 1.25, rss["first"] + 40),
            "fds": fds["last"] <= fds["first"] + 16,
            "db_connections": summary["db_connections"]["max"] <= 10 + 4}
    return {"at": datetime.now(UTC).isoformat(timespec="seconds"), "duration_s": soak.duration_s,
            "stations": soak.stations, "tx_stations": 4, "heartbeats": soak.heartbeats,
            "acked_transaction_events": acked, "pg_terminations": soak.terminations,
            "summary": summary, "flat": flat, "samples": soak.samples}


def markdown(rep: dict[str, Any]) -> str:
    lines = [f"Soak {rep['at']}: {rep['duration_s']:.0f} s, {rep['stations']} heartbeat stations"
             f" + {rep['tx_stations']} transaction stations, {rep['heartbeats']} heartbeats,"
             f" {rep['acked_transaction_events']} TransactionEvents acknowledged (each stored"
             f" once), {rep['pg_terminations']} connections terminated by pg_terminate_backend",
             "", "| metric | first | last | max |", "|---|---|---|---|"]
    for m, v in rep["summary"].items():
        lines.append(f"| {m} | {v['first']} | {v['last']} | {v['max']} |")
    lines.append("")
    verdicts = (f"{k} {'yes' if v else 'NO'}" for k, v in rep["flat"].items())
    lines.append("flat: " + ", ".join(verdicts))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--stations", type=int, default=1000, help="heartbeat stations")
    parser.add_argument("--interval", type=float, default=5.0, help="sample every N s")
    parser.add_argument("--kill-every", type=float, default=60.0,
                        help="pg_terminate_backend the node's connections every N s (0 = never)")
    args = parser.parse_args(argv)
    soak = Soak(args.duration, args.stations, args.interval, args.kill_every)
    with services() as (db, bus), tempfile.TemporaryDirectory(prefix="sigec-soak-") as tmp:
        rep = asyncio.run(run(soak, db, bus, Path(tmp)))
    OUT.mkdir(exist_ok=True)
    stamp = rep["at"].replace(":", "").replace("+0000", "Z")
    (OUT / f"soak-{stamp}.json").write_text(json.dumps(rep, indent=1))
    (OUT / f"soak-{stamp}.md").write_text(markdown(rep))
    print(markdown(rep))
    print(f"written: {OUT}/soak-{stamp}.json and .md")
    return 0 if all(rep["flat"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
