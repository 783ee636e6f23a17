"""Through the real server: a PIX top-up intent, `sigec payments simulate`, the wallet balance."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import aiohttp
import pytest

from sigec_actors.payments.wiring import FAKE_KEY_FILE
from tests.helpers.server import SIGEC, Api, ServerProcess, server_env

pytestmark = [pytest.mark.pg, pytest.mark.nats, pytest.mark.slow]


def simulate(env: dict[str, str], payment_id: str, outcome: str
             ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([SIGEC, "payments", "simulate", payment_id, "--outcome", outcome],
                          env=env, capture_output=True, text=True, timeout=60)


async def test_pix_top_up_from_intent_to_balance(tmp_path: Path, fresh_pg_dsn: str,
                                                 nats_url: str) -> None:
    env = server_env(tmp_path / "data", DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url)
    server = ServerProcess(tmp_path / "data", env, tmp_path / "serve.log")
    server.start()
    try:
        assert server.runtime["paymentsFakeUrl"].startswith("http://127.0.0.1:")
        assert "NO MONEY MOVES" in server.log()
        async with aiohttp.ClientSession() as session:
            api = Api(server.http, session)
            await api.login()
            status, payment = await api.call("POST", "/api/v1/payments/intent",
                                             {"amountCentavos": 5000, "method": "pix"},
                                             {"Idempotency-Key": "e2e-pix-topup-1"})
            assert status == 201, payment
            assert payment["status"] == "requires_action" and payment["provider"] == "fake"
            assert payment["pix"]["copyPaste"].startswith("000201")
            _, wallet = await api.call("GET", "/api/v1/wallet")
            assert (wallet["balanceCentavos"], wallet["pendingCentavos"]) == (0, 5000)

            done = await asyncio.to_thread(simulate, env, payment["id"], "succeeded")
            assert done.returncode == 0, done.stderr + done.stdout
            assert "payment_intent.succeeded" in done.stdout
            _, wallet = await api.call("GET", "/api/v1/wallet")
            assert (wallet["balanceCentavos"], wallet["pendingCentavos"]) == (5000, 0)
            _, got = await api.call("GET", f"/api/v1/payments/{payment['id']}")
            assert got["status"] == "succeeded"

            again = await asyncio.to_thread(simulate, env, payment["id"], "failed")
            assert again.returncode == 0  # a late failure: accepted, ignored
            _, wallet = await api.call("GET", "/api/v1/wallet")
            assert wallet["balanceCentavos"] == 5000
    finally:
        assert server.stop() == 0, server.log()


async def test_the_servers_reconciliation_credits_a_top_up_whose_webhook_was_lost(
        tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> None:
    """The node's reconcile job (every payments.reconcile_interval_s) finds the success the
    fake settled without sending its webhook, credits it once and opens payment_mismatch."""
    data = tmp_path / "data"
    env = server_env(data, DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url,
                     SIGEC_PAYMENTS__RECONCILE_INTERVAL_S="1")
    server = ServerProcess(data, env, tmp_path / "serve.log")
    server.start()
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(server.http, session)
            await api.login()
            status, payment = await api.call("POST", "/api/v1/payments/pix",
                                             {"amountCentavos": 2500},
                                             {"Idempotency-Key": "e2e-lost-webhook"})
            assert status == 201, payment
            fake = server.runtime["paymentsFakeUrl"]
            key = (data / FAKE_KEY_FILE).read_text().strip()
            async with session.post(
                    f"{fake}/_fake/payment_intents/{payment['id']}/outcome",
                    json={"outcome": "succeeded", "deliver": False},
                    headers={"Authorization": f"Bearer {key}"}) as resp:
                assert resp.status == 200 and (await resp.json())["deliveredStatus"] is None
            wallet: dict[str, int] = {}
            for _ in range(150):  # the job runs every second; wait up to ~30 s on a busy box
                _, wallet = await api.call("GET", "/api/v1/wallet")
                if wallet["balanceCentavos"]:
                    break
                await asyncio.sleep(0.2)
            assert (wallet["balanceCentavos"], wallet["pendingCentavos"]) == (2500, 0)
            await asyncio.sleep(2.5)  # more rounds: the same difference, nothing more
            _, lines = await api.call("GET", "/api/v1/wallet/transactions")
            assert [(i["kind"], i["amountCentavos"]) for i in lines["items"]] == [
                ("topup", 2500)]
            _, alerts = await api.call("GET", "/api/v1/admin/alerts")
            mismatches = [a for a in alerts["items"] if a["kind"] == "payment_mismatch"]
            assert len(mismatches) == 1 and payment["id"] in mismatches[0]["message"]
    finally:
        assert server.stop() == 0, server.log()
