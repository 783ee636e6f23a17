"""The voice assistant over REST: one utterance (text or audio) in, the answer out."""

from __future__ import annotations

import base64
import binascii
from uuid import UUID

from aiohttp import web

from api.context import AppContext
from api.errors import InvalidInput, NotConfigured
from api.problems import Problem
from api.routing import Call, Resource, json_response
from api.schemas.voice import (
    VoiceCommandBody,
    VoiceCommandOut,
    VoiceHistoryItemOut,
    VoiceHistoryOut,
    VoiceHistoryQuery,
    VoiceIntentOut,
)
from api.security import authenticate
from sigec_actors.domain.records import Role
from sigec_actors.voice.executor import Location
from sigec_actors.voice.gemini import RecognizerUnavailable
from sigec_actors.voice.service import Answer, SpeechNotConfigured, Utterance
from sigec_actors.voice.wiring import EXTRAS_KEY, LoopbackRest, VoiceWiring

resource = Resource("voice", authenticate)
routes = resource.table
BASE = "/api/v1/voice"


def voice_of(ctx: AppContext) -> VoiceWiring:
    wiring = ctx.extras.get(EXTRAS_KEY)
    if not isinstance(wiring, VoiceWiring):
        raise NotConfigured("voice")
    return wiring


def loopback(request: web.Request, wiring: VoiceWiring, authorization: str) -> LoopbackRest:
    """This node's REST API at the address the request came in on (so: this very server)."""
    host, port = request.transport.get_extra_info("sockname")[:2] if request.transport \
        else ("127.0.0.1", 0)
    host = f"[{host}]" if ":" in host else host
    return wiring.rest(f"{request.scheme}://{host}:{port}", authorization)


def check_text(text: str | None) -> None:
    """Text PostgreSQL can store and the recognizer reads: 1..500 characters, no NUL."""
    if text is not None and (not text.strip() or len(text) > 500 or "\x00" in text):
        raise InvalidInput("text", "must be 1..500 characters without NUL")


def utterance_of(body: VoiceCommandBody, max_audio: int) -> Utterance:
    if (body.text is None) == (body.audio is None):
        raise InvalidInput("text", "give either text or audio")
    check_text(body.text)
    audio = None
    if body.audio is not None:
        try:
            audio = base64.b64decode(body.audio, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidInput("audio", "must be base64") from None
        if len(audio) > max_audio:
            raise InvalidInput("audio", f"must be at most {max_audio} bytes")
    location = None if body.location is None else Location(body.location.lat,
                                                             body.location.lng)
    return Utterance(text=body.text, audio=audio, format=body.format,
                     sample_rate=body.sample_rate, location=location, language=body.language)


def out_of(answer: Answer) -> VoiceCommandOut:
    intent = None if answer.intent is None else VoiceIntentOut(
        name=answer.intent.name.value, slots=dict(answer.intent.slots))
    return VoiceCommandOut(id=str(answer.id), transcript=answer.transcript,
                      language=answer.language, intent=intent, reply=answer.reply,
                      outcome=answer.outcome,
                      result=answer.result, needs_confirmation=answer.needs_confirmation,
                      confidence=answer.confidence)


def refusal(exc: Exception) -> Problem:
    if isinstance(exc, SpeechNotConfigured):
        return Problem(501, "Not Implemented", "speech-to-text is not configured on this "
                       "server: send text, or set voice.recognizer = \"gemini\"")
    return Problem(503, "Service Unavailable", f"the recognizer is unavailable: {exc}",
                   {"Retry-After": "5"})


@resource.post(BASE + "/command", "Say or type a command (PT-BR or EN); money-moving and "
               "session-ending ones ask for a yes/no first", role=Role.USER, body=VoiceCommandBody,
               response=VoiceCommandOut, errors=(422, 501, 503))
async def command(call: Call) -> web.Response:
    wiring = voice_of(call.ctx)
    said = utterance_of(call.body(VoiceCommandBody), wiring.config.max_audio_bytes)
    rest = loopback(call.request, wiring, call.request.headers["Authorization"])
    try:
        answer = await wiring.service.handle(UUID(call.caller.sub), "rest", rest, said)
    except (SpeechNotConfigured, RecognizerUnavailable) as exc:
        raise refusal(exc) from None
    return json_response(out_of(answer))


@resource.get(BASE + "/history", "The caller's own voice commands, newest first",
              role=Role.USER, query=VoiceHistoryQuery, response=VoiceHistoryOut, errors=(503,))
async def history(call: Call) -> web.Response:
    q = call.query(VoiceHistoryQuery)
    items, total = await voice_of(call.ctx).service.history(UUID(call.caller.sub), q.limit,
                                                            q.offset)
    return json_response(VoiceHistoryOut(items=[VoiceHistoryItemOut(
        id=str(c.id), channel=c.channel, transcript=c.transcript, language=c.language,
        intent=c.intent, slots=c.slots, outcome=c.outcome, reply=c.reply,
        http_status=c.http_status, latency_ms=round(c.latency_ms, 2),
        created_at=c.created_at.isoformat()) for c in items],
        total=total, limit=q.limit, offset=q.offset))
