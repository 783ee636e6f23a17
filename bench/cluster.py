"""Cluster benchmarks: cross-node command latency (RoutedCommander over NATS) and 1 vs N workers.

    python -m bench.cluster latency [--nats nats://127.0.0.1:4222] [--commands 2000] [--append]
    python -m bench.cluster throughput [--stations 1000] [--duration 12] [--repeat 3]
                                       [--commands 1000] [--append]

`latency` starts a second "node" process holding the stations (a StationRouter whose local
commander answers at once, so the figure is the routing cost alone) and sends Reset commands
from this process through `RoutedCommander.send`, one at a time: p50/p99 of the remote path,
side by side with a bare NATS request/reply (the transport floor) and the local path.
`throughput` runs the load harness's closed-loop `steady` scenario against `sigec-w1` and
`sigec-w2` (`sigec serve` with SIGEC_WORKERS=1 and 2) in turn `--repeat` times and prints their
medians and ratio (target: >= 1.6x on 2 cores), then `latency` with `--commands`, and appends
both as one RESULTS.md section.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shlex
import statistics
import sys
import time
from typing import Any

import msgspec

from bench.load import suite
from bench.load.config import LoadConfig
from bench.report import OUT_DIR, RESULTS_MD, machine, write_json
from sigec_actors.adapters.nats_bus import NatsEventBus, connect
from sigec_actors.cluster.routing import StationRouter
from sigec_actors.domain.records import Caller
from sigec_actors.dsn import redact
from sigec_actors.ocpp.generated import v201

RESET = v201.ResetRequest(type=v201.ResetEnum.IMMEDIATE)
BENCH = Caller("system", "bench")
ACCEPTED = v201.ResetResponse(status=v201.ResetStatusEnum.ACCEPTED)
STATIONS = [f"BENCHCP{i:03d}" for i in range(20)]


class Instant:
    """A local command API that answers at once: measures the routing, not a station."""

    async def send_command(self, station_id: str, request: msgspec.Struct,
                           timeout_s: float | None, caller: Caller,
                           origin: str) -> msgspec.Struct:
        return ACCEPTED


async def _holder(url: str, prefix: str, ready: Any, stop: Any) -> None:
    nc = await connect(url)
    router = StationRouter(NatsEventBus(nc), "node-b", Instant(), prefix=prefix, flush=nc.flush)
    for station in STATIONS:
        await router.attach(station)
    async def bare(msg: Any) -> None:
        await msg.respond(b"ok")

    await nc.subscribe(f"{prefix}.bare", cb=bare)
    await nc.flush()
    ready.set()
    await asyncio.to_thread(stop.wait)
    await router.close()
    await nc.close()


def holder_process(url: str, prefix: str, ready: Any, stop: Any) -> None:
    asyncio.run(_holder(url, prefix, ready, stop))


def percentiles(samples_s: list[float]) -> dict[str, float]:
    ordered = sorted(samples_s)
    q = statistics.quantiles(ordered, n=100)
    return {"p50_ms": round(q[49] * 1000, 3), "p99_ms": round(q[98] * 1000, 3),
            "mean_ms": round(statistics.fmean(ordered) * 1000, 3), "n": len(ordered)}


async def _measure(url: str, prefix: str, commands: int) -> dict[str, Any]:
    nc = await connect(url)
    router = StationRouter(NatsEventBus(nc), "node-a", Instant(), prefix=prefix, flush=nc.flush)
    await router.attach("LOCALCP")
    results: dict[str, Any] = {}
    for name, call in (
        ("nats request/reply (floor)", lambda i: nc.request(f"{prefix}.bare", b"x", timeout=5)),
        ("RoutedCommander, remote node", lambda i: router.commander.send(
            STATIONS[i % len(STATIONS)], RESET, 5.0, caller=BENCH)),
        ("RoutedCommander, local station", lambda i: router.commander.send(
            "LOCALCP", RESET, 5.0, caller=BENCH)),
    ):
        for i in range(min(200, commands)):  # warm-up
            await call(i)
        samples = []
        for i in range(commands):
            started = time.perf_counter()
            await call(i)
            samples.append(time.perf_counter() - started)
        results[name] = percentiles(samples)
    await router.close()
    await nc.close()
    return results


def latency(url: str, commands: int) -> dict[str, Any]:
    prefix = f"bench{os.getpid()}"
    ctx = multiprocessing.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    holder = ctx.Process(target=holder_process, args=(url, prefix, ready, stop))
    holder.start()
    try:
        if not ready.wait(30):
            raise SystemExit("the holder node did not start")
        return asyncio.run(_measure(url, prefix, commands))
    finally:
        stop.set()
        holder.join(10)


def latency_table(results: dict[str, dict[str, float]]) -> str:
    lines = ["| path | p50 ms | p99 ms | mean ms |", "|---|---|---|---|"]
    for name, r in results.items():
        lines.append(f"| {name} | {r['p50_ms']:.3f} | {r['p99_ms']:.3f} | {r['mean_ms']:.3f} |")
    return "\n".join(lines)


def latency_section(data: dict[str, Any]) -> str:
    m = data["machine"]
    lines = [f"## {m['date']} · commit `{m['commit']}` · cluster: cross-node command latency", "",
             f"Machine: {m['nproc']} cores, {m['cpu']}, load average at start "
             f"{m['loadavg_at_start']}. Command: `python -m bench.cluster latency "
             f"--commands {data['commands']}` (NATS {data['nats']}; sequential; the holder "
             "answers at once, so this is the routing cost alone).", "",
             latency_table(data["latency"])]
    return "\n".join(lines) + "\n"


def throughput(args: argparse.Namespace, command: str) -> int:
    """Closed-loop steady against sigec-w1 and sigec-w2 in turn, then the cross-node latency:
    one JSON, one table, one RESULTS.md section."""
    cfg = LoadConfig(scenario="steady", stations=args.stations, duration_s=args.duration,
                     heartbeat_every_s=0, status_every_s=0)
    data: dict[str, Any] = {"kind": "run", "machine": machine()}
    data["runs"] = asyncio.run(suite.run_configs(
        [cfg] * max(1, args.repeat), ["sigec-w1", "sigec-w2"], OUT_DIR / "logs"))
    if args.commands:
        results = latency(args.nats, args.commands)
        data["micro"] = {"cluster": {
            "command": f"python -m bench.cluster latency --commands {args.commands}",
            "status": "ok", "latency": results, "table": latency_table(results)}}
    suite.finish(data, command, args.append)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    lat = sub.add_parser("latency", help="cross-node command latency p50/p99")
    lat.add_argument("--nats", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    lat.add_argument("--commands", type=int, default=2000)
    lat.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    thr = sub.add_parser("throughput", help="OCPP throughput, 1 vs 2 workers (load harness)")
    thr.add_argument("--stations", type=int, default=1000)
    thr.add_argument("--duration", type=float, default=12.0, help="measured window per run, s")
    thr.add_argument("--repeat", type=int, default=3, help="w1, w2 pairs; the table: medians")
    thr.add_argument("--commands", type=int, default=1000,
                     help="then the cross-node latency with this many commands (0 = skip)")
    thr.add_argument("--nats", default=os.environ.get("NATS_URL", "nats://127.0.0.1:4222"))
    thr.add_argument("--append", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "throughput":
        command = "python -m bench.cluster " + shlex.join(sys.argv[1:] if argv is None else argv)
        return throughput(args, command)
    data = {"machine": machine(), "nats": redact(args.nats), "commands": args.commands,
            "latency": latency(args.nats, args.commands)}
    path = write_json(data, name=f"cluster-latency-{int(time.time())}")
    section = latency_section(data)
    print(section + f"\nRaw JSON: {path}")
    if args.append:
        with RESULTS_MD.open("a") as fh:
            fh.write("\n" + section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
