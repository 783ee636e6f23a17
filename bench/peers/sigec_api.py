"""SIGEC's REST API as the bench uses it: log in, register stations, send remote commands."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from typing import Any

import aiohttp

from bench.load.stats import Histogram

_CONCURRENCY = 32
# (path suffix, JSON body) of the remote commands the commands scenario cycles through.
COMMANDS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("reset", {"type": "OnIdle"}),
    ("trigger/Heartbeat", {}),
    ("trigger/StatusNotification", {"evse": {"id": 1, "connectorId": 1}}),
)


class SigecApi:
    """A logged-in admin session against one SIGEC server."""

    def __init__(self, http_url: str, session: aiohttp.ClientSession) -> None:
        self.base = f"{http_url}/api/v1"
        self.session = session
        self.token = ""

    async def login(self, email: str, password: str) -> str | None:
        """Log in; None on success, else why not."""
        try:
            async with self.session.post(f"{self.base}/auth/login",
                                         json={"email": email, "password": password}) as resp:
                if resp.status != 200:
                    return f"login HTTP {resp.status}"
                self.token = str((await resp.json())["accessToken"])
                return None
        except (aiohttp.ClientError, KeyError, ValueError) as exc:
            return f"login failed: {type(exc).__name__}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    async def register(self, ids: list[str], password: str) -> Counter[str]:
        """POST /admin/stations for each id (profile 0, or 1 with a password); status counts."""
        sem = asyncio.Semaphore(_CONCURRENCY)
        counts: Counter[str] = Counter()

        async def one(sid: str) -> None:
            body: dict[str, Any] = {"id": sid, "securityProfile": 1 if password else 0}
            if password:
                body["password"] = password
            async with sem:
                try:
                    async with self.session.post(f"{self.base}/admin/stations", json=body,
                                                 headers=self.headers) as resp:
                        counts[f"http-{resp.status}"] += 1
                except aiohttp.ClientError as exc:
                    counts[type(exc).__name__] += 1

        await asyncio.gather(*(one(sid) for sid in ids))
        return counts

    async def command_load(self, ids: list[str], per_s: float, duration_s: float,
                           ) -> tuple[dict[str, Histogram], Counter[str]]:
        """Send commands to random stations at `per_s` for `duration_s`; latency per command."""
        hists: dict[str, Histogram] = {}
        outcomes: Counter[str] = Counter()
        tasks: list[asyncio.Task[None]] = []
        end = time.monotonic() + duration_s
        while time.monotonic() < end:
            path, body = random.choice(COMMANDS)  # noqa: S311
            sid = random.choice(ids)  # noqa: S311
            tasks.append(asyncio.create_task(self._command(sid, path, body, hists, outcomes)))
            await asyncio.sleep(1.0 / per_s)
        await asyncio.wait(tasks, timeout=35)
        for task in tasks:
            task.cancel()
        return hists, outcomes

    async def _command(self, sid: str, path: str, body: dict[str, Any],
                       hists: dict[str, Histogram], outcomes: Counter[str]) -> None:
        started = time.perf_counter()
        try:
            async with self.session.post(f"{self.base}/devices/{sid}/{path}", json=body,
                                         headers=self.headers) as resp:
                await resp.read()
                outcomes[f"{path}:http-{resp.status}"] += 1
                if resp.status < 300:
                    hists.setdefault(f"REST {path}", Histogram()).record(
                        time.perf_counter() - started)
        except (aiohttp.ClientError, TimeoutError) as exc:
            outcomes[f"{path}:{type(exc).__name__}"] += 1
