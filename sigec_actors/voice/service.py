"""The voice service: an utterance in, an answer out; recognise, confirm, execute, record.

A money-moving or session-ending intent is stored as awaiting the user's yes/no; the next
"sim"/"yes" (within `confirm_ttl_s`) runs it once, "não"/"no" cancels it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from uuid import UUID

import msgspec

from sigec_actors.voice import phrases
from sigec_actors.voice import vocabulary as v
from sigec_actors.voice.executor import Location, Outcome, Rest, execute
from sigec_actors.voice.intents import Intent, intent_from
from sigec_actors.voice.recognition import Context, Recognition, Recognizer, SpeechToText
from sigec_actors.voice.records import Channel, VoiceCommand, VoiceLog
from sigec_actors.voice.text import language, tokens


class SpeechNotConfigured(Exception):
    """Audio arrived and no speech-to-text is configured (REST 501)."""


class StationNames(Protocol):
    async def ids(self) -> list[str]: ...


class Utterance(msgspec.Struct, frozen=True, kw_only=True):
    text: str | None = None
    audio: bytes | None = None
    format: Literal["wav", "ogg"] = "wav"
    sample_rate: int | None = None
    location: Location | None = None
    language: str | None = None


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    transcript: str
    language: str
    intent: Intent | None
    reply: str
    outcome: str
    result: Any = None
    needs_confirmation: bool
    confidence: float


def answer_of(c: VoiceCommand) -> Answer:
    intent = intent_from(c.intent, c.slots) if c.intent else None
    return Answer(id=c.id, transcript=c.transcript, language=c.language, intent=intent,
                  reply=c.reply, outcome=c.outcome, result=c.result,
                  needs_confirmation=c.outcome == "awaiting_confirmation",
                  confidence=c.confidence)


def yes_or_no(text: str) -> bool | None:
    """True for a bare yes, False for a bare no (short answers only), None otherwise."""
    words = tokens(text)
    if not words or len(words) > 4:
        return None
    yes, no = bool(set(words) & v.YES), bool(set(words) & v.NO)
    return None if yes == no else yes


class VoiceService:
    def __init__(self, log: VoiceLog, recognizer: Recognizer, stations: StationNames, *,
                 stt: SpeechToText | None = None, clock: Callable[[], datetime],
                 confirm_ttl_s: float = 120.0, names_ttl_s: float = 30.0) -> None:
        self._log = log
        self._recognizer = recognizer
        self._stations = stations
        self._stt = stt
        self._clock = clock
        self._confirm_ttl = timedelta(seconds=confirm_ttl_s)
        self._names: tuple[float, list[str]] = (float("-inf"), [])
        self._names_ttl_s = names_ttl_s

    @property
    def recognizer(self) -> str:
        return self._recognizer.name

    async def transcript(self, said: Utterance) -> str:
        if said.audio is None:
            return (said.text or "").strip()
        if self._stt is None:
            raise SpeechNotConfigured
        text = await self._stt.transcribe(said.audio, said.format, said.sample_rate)
        return text.replace("\x00", "").strip()[:500]  # storable, like typed text

    async def _station_ids(self, max_age_s: float | None = None) -> list[str]:
        at, ids = self._names
        if time.monotonic() - at > (self._names_ttl_s if max_age_s is None else max_age_s):
            ids = await self._stations.ids()
            self._names = (time.monotonic(), ids)
        return ids

    async def history(self, user_id: UUID, limit: int, offset: int
                      ) -> tuple[list[VoiceCommand], int]:
        return await self._log.history(user_id, limit, offset)

    async def handle(self, user_id: UUID, channel: Channel, rest: Rest, said: Utterance,
                     on_understood: Callable[[Recognition], Awaitable[None]] | None = None
                     ) -> Answer:
        """Answer one utterance as `user_id` (REST calls through `rest` carry their token)."""
        started = time.perf_counter()
        text = await self.transcript(said)
        now = self._clock()
        command_id = uuid.uuid4()
        answer = yes_or_no(text)
        if answer is not None:
            lang = said.language or language(tokens(text))
            pending = await self._log.pending(user_id, now - self._confirm_ttl)
            if pending is None:
                rec = Recognition(text, lang, None, 1.0)
                done = Outcome("clarify", phrases.nothing_pending(lang))
                return await self._record(user_id, channel, rec, done, command_id, started, now)
            return await self._confirmed(user_id, channel, rest, text, lang, pending, answer,
                                         command_id, started, now)
        rec = await self._recognizer.recognize(
            text, Context(await self._station_ids(), said.language))
        if rec.unknown_station:  # maybe a station added since the list was read: read it again
            rec = await self._recognizer.recognize(
                text, Context(await self._station_ids(max_age_s=0.0), said.language))
        if on_understood is not None:
            await on_understood(rec)
        if rec.intent is None or rec.clarify is not None:
            done = Outcome("clarify", rec.clarify or phrases.unknown(rec.language))
        elif rec.intent.spec.confirm:
            done = Outcome("clarify", phrases.confirm(rec.language, rec.intent))
            return await self._record(user_id, channel, rec, done, command_id, started, now,
                                      awaiting=True)
        else:
            done = await execute(rec.intent, rest, rec.language, command_id=str(command_id),
                                 location=said.location)
        return await self._record(user_id, channel, rec, done, command_id, started, now)

    async def _confirmed(self, user_id: UUID, channel: Channel, rest: Rest, text: str,
                         lang: str, pending: VoiceCommand, yes: bool, command_id: UUID,
                         started: float, now: datetime) -> Answer:
        intent = intent_from(pending.intent or "help", pending.slots)
        rec = Recognition(text, pending.language, intent, 1.0)
        if not await self._log.settle(pending.id, "confirmed" if yes else "cancelled"):
            done = Outcome("clarify", phrases.nothing_pending(lang))
        elif not yes:
            done = Outcome("done", phrases.cancelled(pending.language))
        else:  # the pending command's id keys the payment: a repeated yes pays once
            done = await execute(intent, rest, pending.language, command_id=str(pending.id))
        return await self._record(user_id, channel, rec, done, command_id, started, now,
                                  confirms=pending.id)

    async def _record(self, user_id: UUID, channel: Channel, rec: Recognition, done: Outcome,
                      command_id: UUID, started: float, now: datetime, *,
                      awaiting: bool = False, confirms: UUID | None = None) -> Answer:
        outcome = "awaiting_confirmation" if awaiting else done.kind
        command = VoiceCommand(
            id=command_id, user_id=user_id, channel=channel, transcript=rec.transcript,
            language=rec.language, recognizer=self._recognizer.name,
            intent=rec.intent.name.value if rec.intent else None,
            slots=dict(rec.intent.slots) if rec.intent else {}, confidence=rec.confidence,
            outcome=outcome, reply=done.reply, result=done.result, http_status=done.status,
            confirms=confirms, latency_ms=(time.perf_counter() - started) * 1000,
            created_at=now)
        await self._log.record(command)
        return answer_of(command)
