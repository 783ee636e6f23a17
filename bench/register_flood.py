"""Login latency during a registration flood against a running server (issue #13, defect 5)."""

# python -m bench.register_flood --api http://127.0.0.1:8080 --email admin@sigec.local \
#     [--registrations 3000] [--concurrency 60] [--seconds 20]   # reads SIGEC_ADMIN_PASSWORD
#
# Registrations come from distinct loopback source addresses (127.2.x.y), so the per-address
# limit does not stop them; logins run one after another from their own addresses (127.3.0.x,
# under the per-address login budget) until the flood is over. Prints login p50/p99 and how
# the registrations were answered. Loopback only; the server must listen on 127.0.0.1.

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import statistics
import time
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import aiohttp

LOGIN_SOURCES = 60


def _loopback(url: str) -> str:
    host = urlsplit(url).hostname or ""
    if not host.startswith("127."):
        raise SystemExit(f"refusing a non-loopback API: {url}")
    return url.rstrip("/")


async def _post(source: str, url: str, body: dict[str, Any]) -> int:
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http, \
            http.post(url, json=body) as resp:
        await resp.read()
        return resp.status


async def _flood(api: str, cap: int, concurrency: int, until: float,
                 statuses: Counter[int]) -> None:
    """`concurrency` senders, each from a new source address every time, until `until` or
    `cap` registrations in all."""
    tag = secrets.token_hex(3)
    issued = iter(range(cap))

    async def sender() -> None:
        for i in issued:
            if time.monotonic() >= until:
                return
            body = {"name": f"Flood {i}", "email": f"flood-{tag}-{i}@example.com",
                    "password": f"flood {tag} number {i} passphrase"}
            try:
                statuses[await _post(f"127.2.{i // 250}.{i % 250 + 1}",
                                     f"{api}/api/v1/auth/register", body)] += 1
            except (aiohttp.ClientError, TimeoutError):
                statuses[0] += 1

    await asyncio.gather(*(sender() for _ in range(concurrency)))


async def _logins(api: str, email: str, password: str, done: asyncio.Event,
                  deadline: float) -> tuple[list[float], Counter[int]]:
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    i = 0
    while not done.is_set() and time.monotonic() < deadline:
        source = f"127.3.0.{i % LOGIN_SOURCES + 1}"
        started = time.perf_counter()
        status = await _post(source, f"{api}/api/v1/auth/login",
                             {"email": email, "password": password})
        latencies.append((time.perf_counter() - started) * 1000)
        statuses[status] += 1
        i += 1
    return latencies, statuses


async def run(args: argparse.Namespace) -> None:
    api = _loopback(args.api)
    password = os.environ["SIGEC_ADMIN_PASSWORD"]
    done = asyncio.Event()
    registrations: Counter[int] = Counter()
    started = time.monotonic()
    until = started + args.seconds
    logins = asyncio.create_task(_logins(api, args.email, password, done, until))
    try:
        if args.registrations:
            await _flood(api, args.registrations, args.concurrency, until, registrations)
        else:
            await asyncio.sleep(args.seconds)  # the baseline: logins alone
    finally:
        done.set()
    latencies, login_statuses = await logins
    ms = sorted(latencies)
    p99 = ms[min(len(ms) - 1, int(len(ms) * 0.99))] if ms else float("nan")
    print(f"flood: up to {args.registrations} registrations, {args.concurrency} at a time, "
          f"{time.monotonic() - started:.1f} s; answers {dict(sorted(registrations.items()))}")
    print(f"logins: {len(ms)} ({dict(login_statuses)}), p50 {statistics.median(ms):.0f} ms, "
          f"p99 {p99:.0f} ms, max {ms[-1]:.0f} ms" if ms else "logins: none")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--api", required=True)
    parser.add_argument("--email", default="admin@sigec.local")
    parser.add_argument("--registrations", type=int, default=3000,
                        help="at most this many registrations (0 = logins alone)")
    parser.add_argument("--concurrency", type=int, default=60)
    parser.add_argument("--seconds", type=float, default=20.0, help="flood duration")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
