"""Bodies of the voice assistant's routes."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec

from api.schemas.base import Body, Limit, Offset, Out

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=500)]
Audio = Annotated[str, msgspec.Meta(min_length=4, max_length=1_000_000,
                                    description="base64 of the whole utterance")]


class VoiceLocationIn(Body, frozen=True, kw_only=True):
    lat: Annotated[float, msgspec.Meta(ge=-90, le=90)]
    lng: Annotated[float, msgspec.Meta(ge=-180, le=180)]


class VoiceCommandBody(Body, frozen=True, kw_only=True):
    """`text`, or `audio` (base64; 501 unless speech-to-text is configured); not both.
    `location` lets "stations near me" answer; `language` overrides the guess."""

    text: Text | None = None
    audio: Audio | None = None
    format: Literal["wav", "ogg"] = "wav"
    sample_rate: Annotated[int, msgspec.Meta(ge=8000, le=48000)] | None = None
    location: VoiceLocationIn | None = None
    language: Literal["pt-BR", "en"] | None = None


class VoiceIntentOut(Out, frozen=True, kw_only=True):
    name: str
    slots: dict[str, Any]


class VoiceCommandOut(Out, frozen=True, kw_only=True):
    """`outcome`: done, failed (the API refused; `result` is its problem), clarify (`reply` is
    a question), awaiting_confirmation (say yes/no next), cancelled."""

    id: str
    transcript: str
    language: str
    intent: VoiceIntentOut | None
    reply: str
    outcome: str
    result: Any = None
    needs_confirmation: bool
    confidence: float


class VoiceHistoryQuery(Body, frozen=True, kw_only=True):
    limit: Limit = 20
    offset: Offset = 0


class VoiceHistoryItemOut(Out, frozen=True, kw_only=True):
    id: str
    channel: str
    transcript: str
    language: str
    intent: str | None
    slots: dict[str, Any]
    outcome: str
    reply: str
    http_status: int | None
    latency_ms: float
    created_at: str


class VoiceHistoryOut(Out, frozen=True, kw_only=True):
    items: list[VoiceHistoryItemOut]
    total: int
    limit: int
    offset: int
