"""Site re-allocation through the real server: N simulated stations on one site, latency from a
session's TransactionEvent Started to every station holding its new TxProfile, and the node's
CPU per start.

`python -m bench.site_server [--evses 200] [--rounds 30]` (DATABASE_URL / NATS_URL or the
loopback defaults; a scratch database is created and dropped). One inline node
(SIGEC_WORKERS=0); every station is a ChargingStation of this process on its own WebSocket.
With the fair strategy a start changes every share, so a round is N SetChargingProfile CALLs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

import asyncpg
import psutil

from bench.load.limits import raise_nofile
from bench.txevents import scratch_database
from bench.v2g import register_stations
from sigec_actors.simulator.charging import ChargingStation
from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.v2g import V2GOptions
from tests.helpers.server import ServerProcess, server_env

CAR = V2GOptions(soc=10.0, battery_wh=200_000, meter_interval_s=3600.0, time_scale=1.0)
PER_EVSE_W = 2_000


async def _site(dsn: str, ids: list[str]) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        location = await conn.fetchval("INSERT INTO locations (name, latitude, longitude)"
                                       " VALUES ('bench', 0, 0) RETURNING id")
        await conn.execute("INSERT INTO site_limits VALUES ($1, $2, 'fair', 1380, 22000)",
                           location, PER_EVSE_W * len(ids))
        await conn.execute("UPDATE charge_points SET location_id = $1 WHERE id = ANY($2)",
                           location, ids)
    finally:
        await conn.close()


async def _connect(url: str, ids: list[str]) -> list[ChargingStation]:
    gate = asyncio.Semaphore(16)

    async def one(station_id: str) -> ChargingStation:
        async with gate:
            station = await ChargingStation.connect(url, SimConfig(station_id, v2g=CAR))
            station.ev_max_w = 22_000
            await station.boot()
            return station

    return list(await asyncio.gather(*(one(i) for i in ids)))


def _profiles(stations: list[ChargingStation]) -> list[int]:
    return [s.stats.commands["SetChargingProfile"] for s in stations]


async def _all_told(stations: list[ChargingStation], before: list[int],
                    timeout_s: float = 60.0) -> None:
    """Until every station with a session got a SetChargingProfile since `before`."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = _profiles(stations)
        if all(n > b for s, n, b in zip(stations, now, before, strict=True) if s.transactions):
            return
        await asyncio.sleep(0.002)
    raise TimeoutError("the site did not re-allocate")


async def _quiet(stations: list[ChargingStation], still_s: float = 2.0) -> None:
    """Until no SetChargingProfile arrived anywhere for `still_s`."""
    last, since = _profiles(stations), time.monotonic()
    while time.monotonic() - since < still_s:
        await asyncio.sleep(0.1)
        now = _profiles(stations)
        if now != last:
            last, since = now, time.monotonic()


def _cpu_s(proc: psutil.Process) -> float:
    return float(sum(proc.cpu_times()[:2]))


async def run(evses: int, rounds: int, dsn: str, nats_url: str) -> dict[str, object]:
    ids = [f"BSITE-{i:04d}" for i in range(evses)]
    async with scratch_database(dsn) as scratch:
        await register_stations(scratch, ids)
        await _site(scratch, ids)
        tmp = Path(tempfile.mkdtemp(prefix="bench-site-"))
        env = server_env(tmp / "data", DATABASE_URL=scratch, NATS_URL=nats_url,
                         SIGEC_OCPP__STATION_CALLS_PER_S="0", SIGEC_LOG__LEVEL="warning")
        server = ServerProcess(tmp / "data", env, tmp / "server.log")
        await asyncio.to_thread(server.start)
        assert server.proc is not None
        node = psutil.Process(server.proc.pid)
        stations = await _connect(server.ocpp, ids)
        try:
            for station in stations[:-1]:  # the site is re-planned as they come
                await station.start_transaction(None)
            await _quiet(stations)
            latencies, cpu = [], []
            for i in range(rounds):
                ending = stations[i % (evses - 1)]
                before = _profiles(stations)
                await ending.end_transaction(1)
                await _all_told(stations, before)
                before, cpu0 = _profiles(stations), _cpu_s(node)
                t0 = time.perf_counter()
                await ending.start_transaction(None)
                await _all_told(stations, before)
                latencies.append((time.perf_counter() - t0) * 1000)
                cpu.append((_cpu_s(node) - cpu0) * 1000)
        finally:
            await asyncio.gather(*(s.close() for s in stations), return_exceptions=True)
            server.kill()
    q = statistics.quantiles(latencies, n=100)
    return {"evses": evses, "rounds": rounds, "p50_ms": round(statistics.median(latencies), 1),
            "p99_ms": round(q[98], 1), "max_ms": round(max(latencies), 1),
            "node_cpu_ms_per_start_p50": round(statistics.median(cpu), 1),
            "node_cpu_ms_per_start_mean": round(statistics.fmean(cpu), 1)}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.site_server")
    parser.add_argument("--evses", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--dsn", default=os.environ.get("DATABASE_URL")
                        or "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--nats-url", default=os.environ.get("NATS_URL")
                        or "nats://127.0.0.1:4222")
    args = parser.parse_args()
    raise_nofile()
    print(json.dumps(asyncio.run(run(args.evses, args.rounds, args.dsn, args.nats_url))))


if __name__ == "__main__":
    main()
