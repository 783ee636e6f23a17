"""A Stripe-compatible fake API on loopback: PaymentIntents, refunds and signed test webhooks."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import structlog
from aiohttp import web

from sigec_actors.payments import brcode

log = structlog.get_logger("payments.fake_stripe")
WEBHOOK_PATH = "/api/v1/payments/webhooks/stripe"
OUTCOMES = {"succeeded": "payment_intent.succeeded", "failed": "payment_intent.payment_failed",
            "canceled": "payment_intent.canceled", "processing": "payment_intent.processing"}
_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def sign(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """A `Stripe-Signature` header for `payload`: t=<unix>,v1=<HMAC-SHA256 of "t.payload">."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{t}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


def decode_form(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Stripe's form encoding (`a[b][0]=x`) back into nested dicts; numbered keys are lists."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        match = _KEY.match(key)
        if match is None:
            continue
        path = [match.group(1), *_PART.findall(match.group(2))]
        node = root
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    decoded: dict[str, Any] = _lists(root)
    return decoded


def _lists(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    items = {k: _lists(v) for k, v in node.items()}
    if items and all(k.isdigit() for k in items):
        return [items[k] for k in sorted(items, key=int)]
    return items


def _error(status: int, message: str, code: str = "", kind: str = "invalid_request_error"
           ) -> web.Response:
    return web.json_response({"error": {"type": kind, "message": message, "code": code}},
                             status=status)


@dataclass
class FakeStripe:
    """The fake's state; `start` serves it on loopback. Nothing here reaches Stripe: no money
    moves. `webhook_url` is where simulated outcomes are sent (signed with `webhook_secret`)."""

    api_key: str
    webhook_secret: str
    webhook_url: str = ""
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    _replays: dict[str, tuple[str, int, dict[str, Any]]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None
    url: str = ""

    def app(self) -> web.Application:
        app = web.Application(middlewares=[self._auth])
        app.router.add_post("/v1/payment_intents", self._create_intent)
        app.router.add_get("/v1/payment_intents", self._list_intents)
        app.router.add_get("/v1/payment_intents/{id}", self._get_intent)
        app.router.add_post("/v1/refunds", self._create_refund)
        app.router.add_get("/v1/refunds/{id}", self._get_refund)
        app.router.add_post("/_fake/payment_intents/{id}/outcome", self._outcome)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = self._runner.addresses[0][1]
        self.url = f"http://{host}:{bound}"
        log.warning("fake_payment_provider_started", url=self.url,
                    notice="payments.provider = fake: a Stripe-compatible fake on loopback;"
                           " NO MONEY MOVES, every payment is play money")
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @web.middleware
    async def _auth(self, request: web.Request, handler: Any) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), self.api_key.encode()):
            return _error(401, "Invalid API Key provided", kind="authentication_error")
        response: web.StreamResponse = await handler(request)
        return response

    async def _idempotent(self, request: web.Request, params: dict[str, Any],
                          make: Any) -> web.Response:
        """Stripe's idempotency: the same key replays the first answer; other params: 400."""
        key = request.headers.get("Idempotency-Key")
        digest = hashlib.sha256(json.dumps([request.path, params], sort_keys=True)
                                .encode()).hexdigest()
        if key is not None and key in self._replays:
            first, status, body = self._replays[key]
            if first != digest:
                return _error(400, "Keys for idempotent requests can only be used with the "
                                   "same parameters they were first used with.",
                              kind="idempotency_error")
            return web.json_response(body, status=status, headers={"Idempotent-Replayed": "true"})
        status, body = make(params)
        if key is not None:
            self._replays[key] = (digest, status, body)
        return web.json_response(body, status=status)

    async def _create_intent(self, request: web.Request) -> web.Response:
        params = decode_form(list((await request.post()).items()))  # type: ignore[arg-type]
        return await self._idempotent(request, params, self._new_intent)

    def _new_intent(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            return 400, {"error": {"type": "invalid_request_error", "param": "amount",
                                   "message": "Invalid integer"}}
        types = params.get("payment_method_types") or ["card"]
        method = types[0]
        pi_id = "pi_fake" + secrets.token_hex(10)
        intent: dict[str, Any] = {
            "id": pi_id, "object": "payment_intent", "amount": amount,
            "amount_received": 0, "currency": params.get("currency", "brl"),
            "client_secret": f"{pi_id}_secret_{secrets.token_hex(8)}",
            "created": int(time.time()), "livemode": False, "last_payment_error": None,
            "metadata": params.get("metadata", {}), "next_action": None,
            "payment_method_types": types, "status": "requires_payment_method",
        }
        if params.get("confirm") == "true" and method in ("pix", "boleto"):
            intent["status"] = "requires_action"
            intent["next_action"] = _next_action(method, pi_id, amount, params)
        self.intents[pi_id] = intent
        return 200, intent

    async def _get_intent(self, request: web.Request) -> web.Response:
        intent = self.intents.get(request.match_info["id"])
        if intent is None:
            return _error(404, "No such payment_intent", "resource_missing")
        return web.json_response(intent)

    async def _list_intents(self, request: web.Request) -> web.Response:
        q = request.query
        since = int(q.get("created[gte]", "0"))
        limit = min(int(q.get("limit", "10")), 100)
        rows = sorted((i for i in self.intents.values() if i["created"] >= since),
                      key=lambda i: (i["created"], i["id"]), reverse=True)
        after = q.get("starting_after")
        if after:
            ids = [i["id"] for i in rows]
            rows = rows[ids.index(after) + 1:] if after in ids else []
        return web.json_response({"object": "list", "url": "/v1/payment_intents",
                                  "has_more": len(rows) > limit, "data": rows[:limit]})

    async def _create_refund(self, request: web.Request) -> web.Response:
        params = decode_form(list((await request.post()).items()))  # type: ignore[arg-type]
        return await self._idempotent(request, params, self._new_refund)

    def _new_refund(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        intent = self.intents.get(str(params.get("payment_intent")))
        if intent is None:
            return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                   "message": "No such payment_intent"}}
        refunded = sum(r["amount"] for r in self.refunds.values()
                       if r["payment_intent"] == intent["id"])
        left = intent["amount_received"] - refunded
        amount = int(params.get("amount", left))
        if intent["status"] != "succeeded" or not 0 < amount <= left:
            return 400, {"error": {"type": "invalid_request_error", "code": "amount_too_large",
                                   "message": f"Refund amount ({amount}) is greater than "
                                              f"unrefunded amount on charge ({left})"}}
        refund = {"id": "re_fake" + secrets.token_hex(10), "object": "refund",
                  "amount": amount, "currency": intent["currency"], "status": "succeeded",
                  "payment_intent": intent["id"], "created": int(time.time()),
                  "metadata": params.get("metadata", {})}
        self.refunds[refund["id"]] = refund
        return 200, refund

    async def _get_refund(self, request: web.Request) -> web.Response:
        refund = self.refunds.get(request.match_info["id"])
        if refund is None:
            return _error(404, "No such refund", "resource_missing")
        return web.json_response(refund)

    async def _outcome(self, request: web.Request) -> web.Response:
        """Test mode: settle an intent (`outcome`) and send the signed webhook to `webhookUrl`
        (default: the server's); `deliver: false` drops it, as a lost webhook."""
        key = request.match_info["id"]  # the intent's id, or our payment id (metadata)
        intent = self.intents.get(key) or next(
            (i for i in self.intents.values() if i["metadata"].get("payment_id") == key), None)
        body = await request.json() if request.can_read_body else {}
        outcome = body.get("outcome")
        if intent is None or outcome not in OUTCOMES:
            return _error(404 if intent is None else 400, "unknown intent or outcome")
        settle(intent, outcome)
        event = self.event(OUTCOMES[outcome], intent)
        status = None
        if body.get("deliver", True):
            status = await self.deliver(event, body.get("webhookUrl") or self.webhook_url)
        return web.json_response({"event": event, "deliveredStatus": status})

    def event(self, event_type: str, intent: dict[str, Any]) -> dict[str, Any]:
        return {"id": "evt_fake" + secrets.token_hex(10), "object": "event",
                "type": event_type, "created": int(time.time()), "livemode": False,
                "api_version": "2024-06-20", "pending_webhooks": 1,
                "data": {"object": dict(intent)}}

    async def deliver(self, event: dict[str, Any], url: str) -> int:
        payload = json.dumps(event).encode()
        headers = {"Stripe-Signature": sign(payload, self.webhook_secret),
                   "Content-Type": "application/json"}
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as session, session.post(
                url, data=payload, headers=headers) as resp:
            await resp.read()
            return resp.status


def settle(intent: dict[str, Any], outcome: str) -> None:
    """Move a fake intent the way Stripe does for that outcome."""
    if outcome == "succeeded":
        intent.update(status="succeeded", amount_received=intent["amount"], next_action=None,
                      last_payment_error=None)
    elif outcome == "failed":
        intent.update(status="requires_payment_method", last_payment_error={
            "code": "payment_intent_payment_attempt_failed",
            "message": "The payment failed (simulated)."})
    else:
        intent.update(status=outcome, next_action=None)


def _next_action(method: str, pi_id: str, amount: int, params: dict[str, Any]
                 ) -> dict[str, Any]:
    options = params.get("payment_method_options", {}).get(method, {})
    if method == "pix":
        expires = int(time.time()) + int(options.get("expires_after_seconds", 86400))
        data = brcode.dynamic_payload(f"pix.fake.invalid/qr/{pi_id}", "SIGEC FAKE PSP",
                                      "SAO PAULO", amount_centavos=amount,
                                      txid=pi_id.removeprefix("pi_")[:25])
        return {"type": "pix_display_qr_code", "pix_display_qr_code": {
            "data": data, "expires_at": expires, "hosted_instructions_url": None,
            "image_url_png": None, "image_url_svg": None}}
    days = int(options.get("expires_after_days", 3))
    number = "".join(secrets.choice("0123456789") for _ in range(47))
    return {"type": "boleto_display_details", "boleto_display_details": {
        "number": number, "expires_at": int(time.time()) + days * 86400,
        "hosted_voucher_url": None, "pdf": f"https://fake.invalid/boleto/{pi_id}.pdf"}}
