"""`sigec payments simulate`: the running server's fake provider settles a payment and signs the
webhook, the way a developer triggers events in Stripe's test mode."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

import aiohttp

from sigec_actors.config import Settings
from sigec_actors.errors import SigecError
from sigec_actors.payments.fake_stripe import WEBHOOK_PATH
from sigec_actors.payments.wiring import fake_api_key


def _runtime(settings: Settings) -> dict[str, Any]:
    path = settings.data_dir / "runtime.json"
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SigecError(f"no running server found ({path}): start `sigec serve` first") from exc
    if not data.get("paymentsFakeUrl"):
        raise SigecError("the running server has no fake payment provider "
                         "(payments.provider is not \"fake\")")
    return data


async def _simulate(settings: Settings, payment_id: str, outcome: str) -> dict[str, Any]:
    runtime = _runtime(settings)
    url = f"{runtime['paymentsFakeUrl']}/_fake/payment_intents/{payment_id}/outcome"
    headers = {"Authorization": f"Bearer {fake_api_key(settings.data_dir)}"}
    body = {"outcome": outcome, "webhookUrl": runtime["httpUrl"] + WEBHOOK_PATH}
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session, \
            session.post(url, json=body, headers=headers) as resp:
        answer: dict[str, Any] = await resp.json(content_type=None)
        if resp.status != 200:
            raise SigecError(f"the fake provider refused: {resp.status} "
                             f"{answer.get('error', {}).get('message', '')}")
        return answer


def simulate_command(settings: Settings, payment_id: str, outcome: str) -> int:
    """Print the event sent; exit 0 when the server accepted the webhook (2xx)."""
    answer = asyncio.run(_simulate(settings, payment_id, outcome))
    event, status = answer["event"], answer.get("deliveredStatus")
    print(f"{event['type']} {event['id']} for payment {payment_id}: webhook answered {status}")
    if not (isinstance(status, int) and 200 <= status < 300):
        print("the server did not accept the webhook", file=sys.stderr)
        return 1
    return 0
