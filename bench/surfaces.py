"""One screen of devices with their connectors, side by side over REST, GraphQL and gRPC.

`python -m bench.surfaces [--stations 500] [--page 50] [--seconds 5] [--concurrency 4]`
starts `sigec serve` (one inline node) on a scratch database with `--stations` stations of two
connectors each, then, for each way of getting one page of `--page` devices with their
connectors, runs a closed loop of `--concurrency` clients for `--seconds`, every way in turn
`--repeat` times (medians are shown):

- `rest-list`: GET /devices (no connectors: REST's list does not carry them);
- `rest-screen`: GET /devices, then GET /devices/{id} for each device (what an app needs for
  the same screen over REST: 1 + page requests);
- `graphql`: one query, connectors through the DataLoader (one SQL query per page);
- `grpc`: ListDevices.

Prints pages/s and the median / p99 latency of a page, with each as a ratio to `rest-list`,
writes bench/out/surfaces-<stamp>.json and, with --append, a section of bench/RESULTS.md.
Everything talks to 127.0.0.1 and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
import urllib.request
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import asyncpg
import grpc

from api.grpc.proto import sigec_pb2 as pb
from api.grpc.proto import sigec_pb2_grpc as rpc
from bench.peers.sigec import SigecTarget
from bench.report import RESULTS_MD, machine, write_json
from bench.txevents import DEFAULT_DSN, scratch_database

Page = Callable[[], Awaitable[int]]
QUERY = ("query($n: Int!) { devices(first: $n) { totalCount nodes { id online "
         "connectors { evseId connectorId status } } } }")


async def seed(dsn: str, stations: int) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        ids = [f"BENCH-{i:05d}" for i in range(stations)]
        await conn.executemany("INSERT INTO charge_points (id, vendor, model, online) VALUES"
                               " ($1, 'ACME', 'X1', true)", [(i,) for i in ids])
        await conn.executemany(
            "INSERT INTO connectors (charge_point_id, evse_id, connector_id, status) VALUES"
            " ($1, $2, 1, 'Available')", [(i, e) for i in ids for e in (1, 2)])
    finally:
        await conn.close()


def login(target: SigecTarget) -> str:
    req = urllib.request.Request(  # noqa: S310 -- loopback server started here
        target.http_url + "/api/v1/auth/login", method="POST",
        data=(f'{{"email": "{target.admin_email}", '
              f'"password": "{target.admin_password}"}}').encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310
        return str(json.loads(resp.read())["accessToken"])


def pages(http: aiohttp.ClientSession, channel: grpc.aio.Channel, info: dict[str, Any],
          token: str, size: int) -> dict[str, Page]:
    auth = {"Authorization": f"Bearer {token}"}
    rest = info["httpUrl"] + "/api/v1/devices"
    stub = rpc.DeviceServiceStub(channel)

    async def rest_list() -> int:
        async with http.get(rest, params={"limit": size}, headers=auth) as resp:
            body = await resp.json()
        return len(body["items"])

    async def rest_screen() -> int:
        async with http.get(rest, params={"limit": size}, headers=auth) as resp:
            items = (await resp.json())["items"]
        for item in items:
            async with http.get(f"{rest}/{item['id']}", headers=auth) as resp:
                await resp.read()
        return len(items)

    async def graphql() -> int:
        async with http.post(info["graphqlUrl"], json={"query": QUERY, "variables": {"n": size}},
                             headers=auth) as resp:
            body = await resp.json()
        return len(body["data"]["devices"]["nodes"])

    async def grpc_list() -> int:
        answer = await stub.ListDevices(pb.ListDevicesRequest(page_size=size),
                                        metadata=(("authorization", f"Bearer {token}"),))
        return len(answer.devices)

    return {"rest-list": rest_list, "rest-screen": rest_screen, "graphql": graphql,
            "grpc": grpc_list}


async def closed_loop(page: Page, seconds: float, concurrency: int) -> dict[str, float]:
    latencies: list[float] = []
    deadline = time.monotonic() + seconds

    async def client() -> None:
        while time.monotonic() < deadline:
            start = time.perf_counter()
            assert await page() > 0
            latencies.append(time.perf_counter() - start)

    await page()  # warm: connections, caches
    started = time.monotonic()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.monotonic() - started
    latencies.sort()
    return {"pages_per_s": len(latencies) / elapsed,
            "median_ms": statistics.median(latencies) * 1000,
            "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
            "pages": len(latencies)}


def table(results: dict[str, dict[str, float]]) -> str:
    base = results["rest-list"]
    rows = ["| way | pages/s | x rest-list | median ms | p99 ms |", "|---|---|---|---|---|"]
    for name, r in results.items():
        rows.append(f"| {name} | {r['pages_per_s']:.1f} | "
                    f"{r['pages_per_s'] / base['pages_per_s']:.2f} | {r['median_ms']:.1f} | "
                    f"{r['p99_ms']:.1f} |")
    return "\n".join(rows)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    async with scratch_database(os.environ.get("DATABASE_URL", DEFAULT_DSN)) as dsn:
        await seed(dsn, args.stations)
        os.environ["DATABASE_URL"] = dsn
        target = SigecTarget("sigec-w0", workers=0)
        target.start()
        try:
            token = login(target)
            info = _runtime(target)
            async with aiohttp.ClientSession() as http, \
                    grpc.aio.insecure_channel(info["grpcUrl"]) as channel:
                ways = pages(http, channel, info, token, args.page)
                runs: dict[str, list[dict[str, float]]] = {name: [] for name in ways}
                for _ in range(args.repeat):  # in turn, so noise falls on every way alike
                    for name, page in ways.items():
                        runs[name].append(await closed_loop(page, args.seconds,
                                                            args.concurrency))
                results = {name: {key: statistics.median(r[key] for r in rs)
                                  for key in rs[0]} for name, rs in runs.items()}
        finally:
            target.cleanup()
    return {"bench": "surfaces", "stations": args.stations, "page": args.page,
            "seconds": args.seconds, "concurrency": args.concurrency, "repeat": args.repeat,
            "results": results, "runs": runs,
            "machine": machine()}


def _runtime(target: SigecTarget) -> dict[str, Any]:
    assert target.data_dir is not None
    return dict(json.loads((target.data_dir / "runtime.json").read_text()))


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.surfaces", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stations", type=int, default=500)
    parser.add_argument("--page", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of every way, in turn; the table shows medians")
    parser.add_argument("--append", action="store_true", help="append to bench/RESULTS.md")
    args = parser.parse_args()
    data = asyncio.run(run(args))
    text = table(data["results"])
    print(text)
    path = write_json(data, "surfaces-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"))
    print(f"wrote {path}")
    if args.append:
        m = data["machine"]
        with RESULTS_MD.open("a") as fh:
            fh.write(f"\n## Surfaces: a page of {args.page} devices with connectors "
                     f"({m['date']}, commit {m['commit']})\n\n`python -m bench.surfaces "
                     f"--stations {args.stations} --page {args.page} --seconds {args.seconds} "
                     f"--concurrency {args.concurrency} --repeat {args.repeat}` (medians of "
                     f"{args.repeat} runs in turn; load average at start "
                     f"{m['loadavg_at_start']})\n\n{text}\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

