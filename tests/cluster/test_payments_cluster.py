"""`sigec serve --workers 2` with the fake Stripe: PIX intents on both nodes, one simulated pay."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from tests.helpers.server import ADMIN_EMAIL, ADMIN_PASSWORD, Api

from .conftest import Serve, start_serve

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.nats]


def simulate(serve: Serve, payment_id: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sigec_actors.cli", "--data-dir", str(serve.data_dir),
         "payments", "simulate", payment_id, "--outcome", "succeeded"],
        capture_output=True, text=True, timeout=60, check=False)


async def intents(serve: Serve, n: int) -> list[dict[str, object]]:
    """`n` PIX intents, each on a new connection (SO_REUSEPORT spreads them over the nodes)."""
    made = []
    async with aiohttp.ClientSession() as session:
        api = Api(serve.http, session)
        await api.login()
        token = api.token
    for i in range(n):
        async with aiohttp.ClientSession() as session:
            api = Api(serve.http, session)
            api.token = token
            status, body = await api.call("POST", "/api/v1/payments/pix",
                                          {"amountCentavos": 1000 + i},
                                          {"Idempotency-Key": f"cluster-pix-{i}"})
            assert status == 201, body
            made.append(body)
    return made


async def wallet(serve: Serve, token_of: Api) -> dict[str, int]:
    status, body = await token_of.call("GET", "/api/v1/wallet")
    assert status == 200, body
    return dict(body)


def test_pix_top_up_through_a_two_node_cluster_credits_once(
        tmp_path: Path, fresh_pg_dsn: str, nats_url: str, serves: list[Serve]) -> None:
    env = {"DATABASE_URL": fresh_pg_dsn, "NATS_URL": nats_url,
           "SIGEC_ADMIN_EMAIL": ADMIN_EMAIL, "SIGEC_ADMIN_PASSWORD": ADMIN_PASSWORD}
    serve = start_serve(tmp_path, env, ["--workers", "2"])
    serves.append(serve)
    runtime = serve.wait_ready()
    assert runtime["workers"] == 2 and runtime["paymentsFakeUrl"].startswith("http://127.0.0.1:")
    made = asyncio.run(intents(serve, 6))
    assert {p["provider"] for p in made} == {"fake"} and len({p["id"] for p in made}) == 6
    paid = str(made[0]["id"])
    for _ in range(2):  # the second: another success event for the same payment
        done = simulate(serve, paid)
        assert done.returncode == 0, done.stderr + done.stdout + serve.log()
        assert "payment_intent.succeeded" in done.stdout

    async def check() -> None:
        async with aiohttp.ClientSession() as session:
            api = Api(serve.http, session)
            await api.login()
            got = await wallet(serve, api)
            assert got["balanceCentavos"] == 1000
            assert got["pendingCentavos"] == sum(1000 + i for i in range(1, 6))
            _, lines = await api.call("GET", "/api/v1/wallet/transactions")
            assert [line["kind"] for line in lines["items"]] == ["topup"]
    asyncio.run(check())
