"""The Gemini Live recognizer: the intents are declared as tools, a tool call is an Intent.

The adapter talks to a `LiveSession` (a small protocol); `genai_session` opens the real one
with google-genai (model and key from config). Tests script a fake session: no network.
Audio goes to the same session (the model transcribes it: `input_audio_transcription`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal, Protocol

import msgspec

from sigec_actors.voice import phrases
from sigec_actors.voice.intents import Intent, InvalidIntent, function_declarations, intent_from
from sigec_actors.voice.recognition import Context, Recognition
from sigec_actors.voice.slots import Problem, resolve_station
from sigec_actors.voice.text import language, tokens

INSTRUCTION = (
    "You are the voice assistant of SIGEC-VE, an EV charging network in Brazil. Users speak "
    "Brazilian Portuguese or English. Call exactly one tool for what the user wants, with the "
    "slots they said; never invent a station, amount or percentage they did not say. If the "
    "request is ambiguous or unrelated, ask one short question instead, in the user's language.")


class RecognizerUnavailable(Exception):
    """The recognizer's service failed or timed out (REST 503)."""


class LiveEvent(msgspec.Struct, frozen=True, kw_only=True):
    kind: Literal["tool_call", "text", "transcript", "turn_complete", "error"]
    call_id: str | None = None
    name: str | None = None
    args: dict[str, Any] | None = None
    text: str | None = None


class LiveSession(Protocol):
    async def send_text(self, text: str) -> None: ...

    async def send_audio(self, audio: bytes, mime_type: str) -> None: ...

    def events(self) -> AsyncIterator[LiveEvent]: ...

    async def send_tool_result(self, call_id: str | None, name: str,
                               result: dict[str, Any]) -> None: ...


Connect = Callable[[], AbstractAsyncContextManager[LiveSession]]


class _Turn(msgspec.Struct):
    intent: Intent | None = None
    problem: str | None = None
    said: str = ""
    transcript: str = ""


def _resolve(intent: Intent, stations: Sequence[str]) -> tuple[Intent, Problem | None]:
    """A spoken station ("doze", "12") resolved like the rule recognizer does."""
    mention = intent.slots.get("station")
    if mention is None:
        return intent, None
    station, problem = resolve_station(str(mention).lower(), stations)
    slots = {k: val for k, val in intent.slots.items() if k != "station"}
    if station is not None:
        slots["station"] = station
    return Intent(intent.name, slots), problem


class GeminiRecognizer:
    name = "gemini"

    def __init__(self, connect: Connect, *, timeout_s: float = 8.0) -> None:
        self._connect = connect
        self._timeout_s = timeout_s

    async def recognize(self, text: str, context: Context) -> Recognition:
        turn = await self._run(context, text=text)
        return self._recognition(text, turn, context)

    async def transcribe(self, audio: bytes, fmt: str, sample_rate: int | None) -> str:
        """Speech to text through the same model (the input transcription of one turn)."""
        mime = f"audio/pcm;rate={sample_rate or 16000}" if fmt == "wav" else f"audio/{fmt}"
        turn = await self._run(Context(), audio=(audio, mime))
        if not turn.transcript:
            raise RecognizerUnavailable("no transcript")
        return turn.transcript

    def _recognition(self, text: str, turn: _Turn, context: Context) -> Recognition:
        lang = context.language or language(tokens(text))
        if turn.intent is None:
            # the model's own question, or (an invalid tool call) ours
            question = turn.said.strip() or phrases.unknown(lang)
            return Recognition(text, lang, None, 0.0, question)
        intent, problem = _resolve(turn.intent, context.stations)
        if problem is not None:
            return Recognition(text, lang, intent, 0.8, phrases.slot_problem(lang, problem),
                               unknown_station=problem[0] == "station_unknown")
        missing = intent.missing()
        if missing:
            return Recognition(text, lang, intent, 0.8, phrases.ask_for(lang, missing[0]))
        return Recognition(text, lang, intent, 0.9)

    async def _run(self, context: Context, *, text: str | None = None,
                   audio: tuple[bytes, str] | None = None) -> _Turn:
        try:
            async with asyncio.timeout(self._timeout_s), self._connect() as session:
                if text is not None:
                    await session.send_text(text)
                elif audio is not None:
                    await session.send_audio(*audio)
                return await self._turn(session)
        except TimeoutError as exc:
            raise RecognizerUnavailable("gemini timed out") from exc
        except (OSError, ConnectionError) as exc:
            raise RecognizerUnavailable(f"gemini unreachable: {exc}") from exc

    @staticmethod
    async def _turn(session: LiveSession) -> _Turn:
        turn = _Turn()
        async for event in session.events():
            match event.kind:
                case "error":
                    raise RecognizerUnavailable(event.text or "gemini error")
                case "transcript":
                    turn.transcript += event.text or ""
                case "text":
                    turn.said += event.text or ""
                case "tool_call" if turn.intent is None:
                    try:
                        turn.intent = intent_from(event.name or "", event.args)
                        result = {"status": "recognised"}
                    except InvalidIntent as exc:
                        turn.problem = str(exc)
                        result = {"status": "invalid", "error": str(exc)}
                    await session.send_tool_result(event.call_id, event.name or "", result)
                    if turn.intent is not None:
                        return turn  # executed by the service, with confirmation if needed
                case "turn_complete":
                    return turn
        return turn


def live_config(declarations: list[dict[str, Any]] | None = None) -> Any:
    """The LiveConnectConfig: text out, the intents as tools, input audio transcribed."""
    from google.genai import types

    return types.LiveConnectConfig(
        response_modalities=[types.Modality.TEXT],
        system_instruction=INSTRUCTION,
        tools=[types.Tool(function_declarations=[
            types.FunctionDeclaration(**d) for d in (declarations or function_declarations())])],
        input_audio_transcription=types.AudioTranscriptionConfig())


def events_of(message: Any) -> list[LiveEvent]:
    """One google-genai LiveServerMessage as our events."""
    out: list[LiveEvent] = []
    if message.tool_call is not None:
        for call in message.tool_call.function_calls or ():
            out.append(LiveEvent(kind="tool_call", call_id=call.id, name=call.name,
                                 args=dict(call.args or {})))
    content = message.server_content
    if content is not None:
        if content.input_transcription is not None and content.input_transcription.text:
            out.append(LiveEvent(kind="transcript", text=content.input_transcription.text))
        if content.model_turn is not None:
            for part in content.model_turn.parts or ():
                if part.text:
                    out.append(LiveEvent(kind="text", text=part.text))
        if content.turn_complete:
            out.append(LiveEvent(kind="turn_complete"))
    return out


class _GenaiSession:
    def __init__(self, session: Any) -> None:
        self._session = session

    async def send_text(self, text: str) -> None:
        from google.genai import types

        await self._session.send_client_content(
            turns=types.Content(role="user", parts=[types.Part(text=text)]), turn_complete=True)

    async def send_audio(self, audio: bytes, mime_type: str) -> None:
        from google.genai import types

        await self._session.send_realtime_input(audio=types.Blob(data=audio, mime_type=mime_type))
        await self._session.send_realtime_input(audio_stream_end=True)

    async def events(self) -> AsyncIterator[LiveEvent]:
        async for message in self._session.receive():
            for event in events_of(message):
                yield event

    async def send_tool_result(self, call_id: str | None, name: str,
                               result: dict[str, Any]) -> None:
        from google.genai import types

        await self._session.send_tool_response(function_responses=[
            types.FunctionResponse(id=call_id, name=name, response=result)])


def genai_connect(api_key: str, model: str) -> Connect:
    """Open real Gemini Live sessions (network; used only when `voice.recognizer = "gemini"`)."""
    from google import genai

    client = genai.Client(api_key=api_key)
    config = live_config()

    @asynccontextmanager
    async def connect() -> AsyncIterator[LiveSession]:
        async with client.aio.live.connect(model=model, config=config) as session:
            yield _GenaiSession(session)

    return connect
