"""Runs an intent through the public REST API as the caller (their token, their permissions):
no business rule is written twice, and what REST refuses, the voice assistant refuses."""

from __future__ import annotations

from typing import Any, Literal, Protocol

import msgspec

from sigec_actors.voice import phrases
from sigec_actors.voice.intents import Intent, IntentName


class Reply(msgspec.Struct, frozen=True):
    """HTTP status and decoded JSON body of one REST call."""

    status: int
    body: Any


class Rest(Protocol):
    """The node's own REST API, called with the caller's Authorization header."""

    async def call(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                   query: dict[str, str] | None = None,
                   idempotency_key: str | None = None) -> Reply: ...


class Outcome(msgspec.Struct, frozen=True):
    """`done` (the API did it), `failed` (the API refused: `status`), `clarify` (a question)."""

    kind: Literal["done", "failed", "clarify"]
    reply: str
    result: Any = None
    status: int | None = None


class Location(msgspec.Struct, frozen=True):
    lat: float
    lng: float


def _failed(lang: str, reply: Reply) -> Outcome:
    body = reply.body if isinstance(reply.body, dict) else {}
    detail = str(body.get("detail") or body.get("title") or "error")
    return Outcome("failed", phrases.failed(lang, reply.status, detail), body, reply.status)


def _items(body: Any) -> list[dict[str, Any]]:
    """A list answer, or a page's items."""
    items = body if isinstance(body, list) else (
        body.get("items", []) if isinstance(body, dict) else [])
    return [i for i in items if isinstance(i, dict)]


async def _active(rest: Rest, lang: str, station: str | None) -> tuple[dict[str, Any] | None,
                                                                      Outcome | None]:
    """The caller's one active session (at `station` when given), or what to say instead."""
    got = await rest.call("GET", "/api/v1/transactions/active")
    if got.status != 200:
        return None, _failed(lang, got)
    items = [t for t in _items(got.body)
             if station is None or t.get("chargePointId") == station]
    if not items:
        return None, Outcome("clarify", "You have no charging session in progress." if lang == "en"
                             else "Você não tem recarga em andamento.")
    if len(items) > 1:
        return None, Outcome("clarify", phrases.slot_problem(
            lang, ("station_ambiguous", tuple(t["chargePointId"] for t in items))))
    return items[0], None


async def execute(intent: Intent, rest: Rest, lang: str, *, command_id: str,  # noqa: PLR0911, PLR0912
                  location: Location | None = None) -> Outcome:
    s, name = intent.slots, intent.name
    reply: Reply
    match name:
        case IntentName.HELP:
            return Outcome("done", phrases.help_text(lang))
        case IntentName.START_CHARGING:
            body = {"chargePointId": s["station"]} | (
                {"evseId": s["connector"]} if "connector" in s else {})
            reply = await rest.call("POST", "/api/v1/transactions/start", body=body)
        case IntentName.STOP_CHARGING:
            tx, why = await _active(rest, lang, s.get("station"))
            if tx is None:
                return why  # type: ignore[return-value]
            reply = await rest.call("POST", f"/api/v1/transactions/{tx['id']}/stop")
        case IntentName.SESSION_STATUS:
            reply = await rest.call("GET", "/api/v1/transactions/active")
        case IntentName.WALLET_BALANCE:
            reply = await rest.call("GET", "/api/v1/wallet")
        case IntentName.TOP_UP:
            reply = await rest.call("POST", "/api/v1/payments/pix",
                                    body={"amountCentavos": s["amount_centavos"]},
                                    idempotency_key=f"voice-{command_id}")
        case IntentName.NEARBY_STATIONS:
            if location is None:
                return Outcome("clarify", phrases.ask_for(lang, "location"))
            query = {"lat": str(location.lat), "lng": str(location.lng)}
            if "radius_km" in s:
                query["radiusKm"] = str(s["radius_km"])
            reply = await rest.call("GET", "/api/v1/devices/nearby", query=query)
        case IntentName.RESERVE:
            body = {"chargePointId": s["station"]} | (
                {"evseId": s["connector"]} if "connector" in s else {})
            reply = await rest.call("POST", "/api/v1/reservations", body=body)
        case IntentName.GRID_PRICE:
            reply = await rest.call("GET", "/api/v1/v2g/grid-price")
        case IntentName.START_V2G:
            station = s.get("station")
            if station is None:
                tx, why = await _active(rest, lang, None)
                if tx is None:
                    return why  # type: ignore[return-value]
                station = tx["chargePointId"]
            reply = await rest.call("POST", "/api/v1/v2g/discharge/start",
                                    body={"chargePointId": station, "minSoc": s["min_soc"]})
        case IntentName.STOP_V2G:
            tx, why = await _active(rest, lang, None)
            if tx is None:
                return why  # type: ignore[return-value]
            live = await rest.call("GET", f"/api/v1/v2g/session/active/{tx['chargePointId']}")
            if live.status != 200:
                return _failed(lang, live)
            reply = await rest.call("POST", "/api/v1/v2g/discharge/stop",
                                    body={"sessionId": live.body["id"]})
        case IntentName.V2G_EARNINGS:
            reply = await rest.call("GET", "/api/v1/v2g/stats",
                                    query={"period": s.get("period", "month")})
    if reply.status >= 300:
        return _failed(lang, reply)
    return Outcome("done", phrases.done(lang, intent, reply.body), reply.body, reply.status)
