"""What a recognizer returns, and the port every recognizer implements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from sigec_actors.voice.intents import Intent


class Recognition(msgspec.Struct, frozen=True):
    """An utterance understood (`intent`), or a question back (`clarify`) when it was unknown,
    ambiguous or missed a required slot (`intent` then holds what was understood, if any)."""

    transcript: str
    language: str
    intent: Intent | None
    confidence: float
    clarify: str | None = None
    unknown_station: bool = False  # a station was named that the given list does not hold


class Context(msgspec.Struct, frozen=True):
    """What a recognizer may use besides the words: the station ids the caller can name."""

    stations: Sequence[str] = ()
    language: str | None = None  # a client's hint (Accept-Language); None: guessed


class Recognizer(Protocol):
    """Text to intent. Implementations: rules.RuleRecognizer (offline), gemini.GeminiRecognizer."""

    name: str

    async def recognize(self, text: str, context: Context) -> Recognition: ...


class SpeechToText(Protocol):
    """Audio to text; None configured means audio is refused (501)."""

    async def transcribe(self, audio: bytes, fmt: str, sample_rate: int | None) -> str: ...
