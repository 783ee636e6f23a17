"""Firmware bench (issue 17): a campaign over N simulated stations, `maxConcurrent` at a time.

Two parts, one JSON:
- campaign: `sigec serve` (one inline node) on a scratch database; N profile-0 stations
  (simulator, this process) each play UpdateFirmware with `--step-s` between notifications and
  reboot (reconnect + BootNotification FirmwareUpdate) into the new version. Reported: wall time
  from the POST to the campaign's Completed, node CPU (user+sys of the server process) per job,
  node RSS before/at the most live jobs/after, jobs per second.
- actors: FirmwareJob actors in this process on an in-memory store (no station answers, so
  they stay Accepted with their timers), tracemalloc bytes kept per job actor.

`python -m bench.firmware [--stations 1000 --max-concurrent 100 --step-s 0.5]`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import sys
import tempfile
import time
import tracemalloc
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp

from bench.load.limits import raise_nofile
from bench.report import machine, write_json
from bench.txevents import scratch_database
from bench.v2g import register_stations
from bench.v2g_probe import Server
from sigec_actors.firmware.actor import JobDeps
from sigec_actors.firmware.campaign import Campaign
from sigec_actors.firmware.jobs import FirmwareJobs
from sigec_actors.firmware.messages import UpdateAnswered
from sigec_actors.firmware.state import JobState
from sigec_actors.runtime import (
    ChildSpec,
    DynamicSupervisor,
    Supervisor,
    SupervisorAt,
    SupervisorRef,
)
from sigec_actors.runtime.system import ActorSystem
from sigec_actors.simulator.firmware import FirmwareOptions
from sigec_actors.simulator.handlers import SimConfig
from sigec_actors.simulator.station import SimulatedStation
from sigec_actors.testing.firmware import InMemoryJobStore
from tests.helpers.server import Api, ServerProcess, server_env

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
DEFAULT_NATS = "nats://127.0.0.1:4222"
GATE = 50  # concurrent connects of the setup
NODE_ENV = {"SIGEC_OCPP__STATION_CALLS_PER_S": "0", "SIGEC_LOG__LEVEL": "warning",
            "SIGEC_FIRMWARE__TICK_S": "1", "SIGEC_FIRMWARE__CAMPAIGN_TICK_S": "0.5"}


async def connect_all(url: str, ids: list[str], step_s: float) -> list[SimulatedStation]:
    sem = asyncio.Semaphore(GATE)

    async def one(station_id: str) -> SimulatedStation:
        async with sem:
            sim = await SimulatedStation.connect(url, SimConfig(
                station_id, firmware=FirmwareOptions(step_s=step_s)), open_timeout_s=60)
            await sim.boot()
            return sim

    return list(await asyncio.gather(*(one(i) for i in ids)))


async def campaign(stations: int, max_concurrent: int, step_s: float, dsn: str,
                   nats_url: str, tmp: Path) -> dict[str, Any]:
    ids = [f"FWB-{i:05d}" for i in range(stations)]
    async with scratch_database(dsn) as db:
        proc = ServerProcess(tmp / "data", server_env(tmp / "data", DATABASE_URL=db,
                                                      NATS_URL=nats_url, **NODE_ENV),
                             tmp / "server.log")
        await asyncio.to_thread(proc.start)
        try:
            server = Server(proc, db)
            await register_stations(db, ids)  # profile 0: no password to hash
            sims = await connect_all(proc.ocpp, ids, step_s)
            try:
                return await _run(server, ids, sims, max_concurrent)
            finally:
                await asyncio.gather(*(s.close() for s in sims), return_exceptions=True)
        finally:
            proc.kill()


async def _run(server: Server, ids: list[str], sims: list[SimulatedStation],
               max_concurrent: int) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        admin = Api(server.proc.http, http)
        await admin.login()
        rss0, cpu0, t0 = server.rss_mb(), server.cpu_s(), time.perf_counter()
        status, body = await admin.call("POST", "/api/v1/admin/firmware/campaigns", {
            "stationIds": ids, "location": "https://fw.bench.local/sim-2.0.0.bin",
            "version": "2.0.0", "maxConcurrent": max_concurrent,
            "failureThresholdPercent": 5})
        assert status == 201, body
        path = f"/api/v1/admin/firmware/campaigns/{body['campaignId']}"
        peak_live, rss_at_peak, rss_max = 0, rss0, rss0
        while True:
            await asyncio.sleep(0.5)
            status, body = await admin.call("GET", path)
            rss = server.rss_mb()
            rss_max = max(rss_max, rss)
            if body["live"] > peak_live:
                peak_live, rss_at_peak = body["live"], rss
            if body["status"] != "Running":
                break
        wall, cpu = time.perf_counter() - t0, server.cpu_s() - cpu0
    done = body["counts"].get("Completed", 0)
    return {
        "stations": len(ids), "max_concurrent": max_concurrent, "status": body["status"],
        "completed": done, "failed": body["counts"].get("Failed", 0),
        "wall_s": round(wall, 1), "jobs_per_s": round(done / wall, 1),
        "node_cpu_s": round(cpu, 1), "node_cpu_ms_per_job": round(1000 * cpu / len(ids), 2),
        "rss_mb_before": rss0, "rss_mb_at_peak_live": rss_at_peak, "rss_mb_max": rss_max,
        "peak_live_jobs": peak_live,
        "updates_played": sum(s.stats.commands["UpdateFirmware"] for s in sims)}


class _Silent:
    """UpdateSender whose station accepts and then says nothing (jobs stay Accepted)."""

    async def update(self, state: JobState) -> UpdateAnswered:
        return UpdateAnswered(status="Accepted")


class _NoAlerts:
    async def failed(self, state: JobState, reason: str) -> None: ...
    async def campaign_stopped(self, campaign: Campaign) -> None: ...


async def actors(count: int) -> dict[str, Any]:
    """tracemalloc bytes kept per live FirmwareJob actor (state loaded, timer armed)."""
    system = ActorSystem(name="fwbench")
    pool = ChildSpec("firmware", lambda: DynamicSupervisor(max_restarts=10**6, within_s=1.0),
                     shutdown_timeout_s=None)
    root = await system.start(ChildSpec("bench", lambda: Supervisor([pool]),
                                        shutdown_timeout_s=None))
    await SupervisorRef(root).which_children()  # returns once the pool runs
    store = InMemoryJobStore()
    jobs = FirmwareJobs(SupervisorAt(system, "/bench/firmware"),
                        JobDeps(store, _Silent(), _NoAlerts(), "bench", tick_s=60.0), 60.0)
    now = datetime.now(UTC)
    states = [JobState(job_id=uuid.uuid4(), station_id=f"CP-{i:06d}", request_id=i,
                       location="https://fw.bench.local/sim-2.0.0.bin", version="2.0.0",
                       retrieve_at=now, created_at=now) for i in range(count)]
    for state in states:  # the rows exist before the actors, as after a restart
        await store.create(state, "bench", now)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    t0 = time.perf_counter()
    for state in states:
        await jobs.run(state)
    await asyncio.sleep(0.2)  # every actor loaded its row and sent its UpdateFirmware
    elapsed = time.perf_counter() - t0
    gc.collect()
    kept = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    accepted = sum(1 for s in store.rows.values() if s.status.value == "Accepted")
    await system.shutdown()
    return {"actors": count, "accepted": accepted, "bytes_per_job_actor": int(kept / count),
            "start_us_per_actor": round(1e6 * elapsed / count, 1)}


def table(result: dict[str, Any]) -> str:
    c, a = result["campaign"], result["actors"]
    rows = [
        ("stations / maxConcurrent", f"{c['stations']} / {c['max_concurrent']}"),
        ("campaign status", f"{c['status']} ({c['completed']} completed, {c['failed']} failed)"),
        ("wall time", f"{c['wall_s']} s ({c['jobs_per_s']} jobs/s)"),
        ("node CPU per job", f"{c['node_cpu_ms_per_job']} ms ({c['node_cpu_s']} s in all)"),
        ("node RSS before / at peak live jobs / max",
         f"{c['rss_mb_before']} / {c['rss_mb_at_peak_live']} / {c['rss_mb_max']} MB "
         f"(peak {c['peak_live_jobs']} live jobs)"),
        ("memory per job actor (tracemalloc)",
         f"{a['bytes_per_job_actor']:,} B ({a['actors']:,} live actors)"),
        ("start per job actor", f"{a['start_us_per_actor']} µs"),
    ]
    return "\n".join(["| figure | value |", "|---|---|",
                      *(f"| {k} | {v} |" for k, v in rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.firmware")
    parser.add_argument("--stations", type=int, default=1000)
    parser.add_argument("--max-concurrent", type=int, default=100)
    parser.add_argument("--step-s", type=float, default=0.5)
    parser.add_argument("--actors", type=int, default=10_000)
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--nats-url", default=DEFAULT_NATS)
    args = parser.parse_args(argv)
    raise_nofile()
    with tempfile.TemporaryDirectory(prefix="bench-fw-") as tmp:
        result = {"machine": machine(), "actors": asyncio.run(actors(args.actors)),
                  "campaign": asyncio.run(campaign(args.stations, args.max_concurrent,
                                                   args.step_s, args.dsn, args.nats_url,
                                                   Path(tmp)))}
    path = write_json(result, "firmware")
    print(json.dumps(result, indent=2))
    print(f"written to {path}")
    print(table(result))
    return 0 if result["campaign"]["status"] == "Completed" else 1


if __name__ == "__main__":
    sys.exit(main())
