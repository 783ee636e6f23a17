"""WS /ws/voice: a voice conversation over one socket.

Authenticate with `Authorization: Bearer <token>` on the upgrade, or with a first message
`{"type": "auth", "token": "..."}` (browsers cannot set headers). Then send
`{"type": "text", "text": "..."}`, or audio as `{"type": "audio", "data": "<base64 chunk>"}`
messages closed by `{"type": "audio_end", "format": "wav", "sampleRate": 16000}`; optionally
`{"type": "location", "lat": ..., "lng": ...}` first. The server answers each utterance with
`transcript` (the words, partial for audio), `intent` (what was understood), `confirm` (a
yes/no question) when needed, and `result` (the whole answer, as REST's); problems come as
`{"type": "error", "status", "title", "detail"}` and the socket stays open.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from typing import Any
from uuid import UUID

import msgspec
from aiohttp import WSMsgType, web

from api.context import ctx_of
from api.errors import InvalidInput, Unauthenticated
from api.problems import problem_for
from api.routes.voice import check_text, loopback, out_of, refusal, voice_of
from api.security import bearer_token, verify
from api.services import services_of
from sigec_actors.domain.records import Role
from sigec_actors.errors import SigecError
from sigec_actors.voice.executor import Location
from sigec_actors.voice.gemini import RecognizerUnavailable
from sigec_actors.voice.recognition import Recognition
from sigec_actors.voice.service import SpeechNotConfigured, Utterance, VoiceService

routes = web.RouteTableDef()
AUTH_TIMEOUT_S = 10.0
MAX_MESSAGE = 1024 * 1024


async def _send(ws: web.WebSocketResponse, kind: str, **fields: Any) -> None:
    await ws.send_bytes(msgspec.json.encode({"type": kind, **fields}))


async def _error(ws: web.WebSocketResponse, status: int, title: str, detail: str) -> None:
    await _send(ws, "error", status=status, title=title, detail=detail)


async def _authorize(request: web.Request, ws: web.WebSocketResponse) -> tuple[UUID, str] | None:
    try:
        token = bearer_token(request)
    except Unauthenticated:  # browsers cannot set headers: the first message may carry it
        token = ""
    if not token:
        try:
            first = await ws.receive_json(timeout=AUTH_TIMEOUT_S)
        except (TimeoutError, ValueError, TypeError):
            first = {}
        token = str(first.get("token", "")) if isinstance(first, dict) and \
            first.get("type") == "auth" else ""
    try:
        claims = await verify(services_of(request), token, Role.USER)
    except SigecError as exc:  # invalid, revoked or expired token; role; cache down
        problem = problem_for(exc)
        status = problem.status if problem is not None else 401
        await _error(ws, status, "Unauthorized" if status == 401 else "Forbidden", str(exc))
        await ws.close(code=4401 if status == 401 else 4403)
        return None
    return UUID(claims.sub), f"Bearer {token}"


@routes.get("/ws/voice")
async def voice_socket(request: web.Request) -> web.WebSocketResponse:
    wiring = voice_of(ctx_of(request))
    ws = web.WebSocketResponse(heartbeat=30.0, max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    who = await _authorize(request, ws)
    if who is None:
        return ws
    user_id, authorization = who
    rest = loopback(request, wiring, authorization)
    service = wiring.service
    await _send(ws, "ready", recognizer=service.recognizer)
    audio = bytearray()
    location: Location | None = None
    async for message in ws:
        if message.type not in (WSMsgType.TEXT, WSMsgType.BINARY):
            break
        try:
            data = msgspec.json.decode(message.data)
            if not isinstance(data, dict):
                raise InvalidInput("$", "must be a JSON object")
            kind = data.get("type")
            if kind == "location":
                location = Location(float(data["lat"]), float(data["lng"]))
            elif kind == "audio":
                audio += base64.b64decode(str(data.get("data", "")), validate=True)
                if len(audio) > wiring.config.max_audio_bytes:
                    audio.clear()
                    raise InvalidInput("data", "the utterance's audio is too long")
            elif kind in ("text", "audio_end"):
                said = Utterance(text=str(data.get("text", "")) or None, location=location,
                                 audio=bytes(audio) if kind == "audio_end" else None,
                                 format=data.get("format", "wav"),
                                 sample_rate=data.get("sampleRate"),
                                 language=data.get("language"))
                audio.clear()
                await _utterance(ws, service, user_id, rest, said)
            else:
                raise InvalidInput("type", "must be text, audio, audio_end or location")
        except (msgspec.DecodeError, binascii.Error, KeyError, ValueError, TypeError):
            await _error(ws, 422, "Unprocessable Content", "malformed message")
        except InvalidInput as exc:
            await _error(ws, 422, "Unprocessable Content", str(exc))
        except (SpeechNotConfigured, RecognizerUnavailable) as exc:
            problem = refusal(exc)
            await _error(ws, problem.status, problem.title, problem.detail or "")
    return ws


async def _utterance(ws: web.WebSocketResponse, service: VoiceService, user_id: UUID,
                     rest: Any, said: Utterance) -> None:
    if said.audio is not None:  # the words first (one partial: the whole transcript)
        text = await service.transcript(said)
        await _send(ws, "transcript", text=text, final=True)
        said = msgspec.structs.replace(said, text=text, audio=None)
    else:
        check_text(said.text or "")

    async def understood(rec: Recognition) -> None:
        await _send(ws, "intent", language=rec.language, confidence=rec.confidence,
                    intent=None if rec.intent is None else {
                        "name": rec.intent.name.value, "slots": rec.intent.slots},
                    clarify=rec.clarify)

    answer = await asyncio.shield(service.handle(user_id, "ws", rest, said, understood))
    if answer.needs_confirmation:
        await _send(ws, "confirm", id=str(answer.id), question=answer.reply)
    await _send(ws, "result", **msgspec.to_builtins(out_of(answer)))

