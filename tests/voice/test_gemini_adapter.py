"""The Gemini Live adapter against scripted sessions (no network): tool calls become the same
intents the rule recognizer gives, bad tool calls and errors never become a guess."""

from __future__ import annotations

import pytest

from sigec_actors.testing.voice import ScriptedSession, scripted
from sigec_actors.voice.gemini import (
    GeminiRecognizer,
    LiveEvent,
    RecognizerUnavailable,
    events_of,
    live_config,
)
from sigec_actors.voice.intents import IntentName, function_declarations
from sigec_actors.voice.recognition import Context
from sigec_actors.voice.rules import recognize

STATIONS = ("CP-001", "CP-012", "PAULISTA-01")


def _call(name: str, **args: object) -> LiveEvent:
    return LiveEvent(kind="tool_call", call_id="c1", name=name, args=dict(args))


async def test_a_tool_call_is_the_intent_the_rules_give() -> None:
    session = ScriptedSession([_call("start_charging", station="12", connector=2)])
    gemini = GeminiRecognizer(scripted(session))
    got = await gemini.recognize("inicia a recarga no carregador doze conector dois",
                                 Context(STATIONS))
    rules = recognize("inicia a recarga no carregador doze conector dois", STATIONS)
    assert got.intent == rules.intent and got.intent is not None
    assert got.intent.slots == {"station": "CP-012", "connector": 2} and got.clarify is None
    assert got.language == "pt-BR"
    assert session.sent[0] == ("text", "inicia a recarga no carregador doze conector dois")
    assert session.sent[1] == ("tool_result", ("c1", "start_charging",
                                               {"status": "recognised"}))


@pytest.mark.parametrize(("event", "why"), [
    (_call("transfer_money", amount=10), "unknown intent"),
    (_call("top_up", amount_centavos=10), "between"),
    (_call("start_v2g", min_soc="lots"), "number"),
    (_call("wallet_balance", owner="bob"), "no slot"),
])
async def test_a_tool_call_outside_the_schema_is_refused_not_executed(
        event: LiveEvent, why: str) -> None:
    session = ScriptedSession([event, LiveEvent(kind="turn_complete")])
    got = await GeminiRecognizer(scripted(session)).recognize("x", Context(STATIONS))
    assert got.intent is None and got.clarify
    _, (_, _, result) = session.sent[1]
    assert result["status"] == "invalid" and why in result["error"]


async def test_the_models_question_is_passed_on() -> None:
    session = ScriptedSession([LiveEvent(kind="text", text="Em qual carregador?"),
                               LiveEvent(kind="turn_complete")])
    got = await GeminiRecognizer(scripted(session)).recognize("inicia", Context(STATIONS))
    assert got.intent is None and got.clarify == "Em qual carregador?"


async def test_missing_slots_and_unknown_stations_ask_back() -> None:
    missing = ScriptedSession([_call("top_up")])
    got = await GeminiRecognizer(scripted(missing)).recognize("add money", Context(STATIONS))
    assert got.intent is not None and got.intent.name is IntentName.TOP_UP
    assert got.clarify == "How many reais should I add?"
    unknown = ScriptedSession([_call("reserve", station="99")])
    got = await GeminiRecognizer(scripted(unknown)).recognize("reserve 99", Context(STATIONS))
    assert got.unknown_station and got.clarify and "99" in got.clarify
    ambiguous = ScriptedSession([_call("reserve", station="1")])
    got = await GeminiRecognizer(scripted(ambiguous)).recognize("reserve 1", Context(STATIONS))
    assert got.clarify is not None and "CP-001" in got.clarify and "PAULISTA-01" in got.clarify


async def test_errors_and_silence_are_unavailable_not_a_guess() -> None:
    failing = ScriptedSession([LiveEvent(kind="error", text="quota exceeded")])
    with pytest.raises(RecognizerUnavailable, match="quota"):
        await GeminiRecognizer(scripted(failing)).recognize("saldo", Context())
    silent = ScriptedSession([], hang=True)
    with pytest.raises(RecognizerUnavailable, match="timed out"):
        await GeminiRecognizer(scripted(silent), timeout_s=0.05).recognize("saldo", Context())


async def test_audio_is_transcribed_by_the_same_session() -> None:
    session = ScriptedSession([LiveEvent(kind="transcript", text="qual é o meu "),
                               LiveEvent(kind="transcript", text="saldo"),
                               LiveEvent(kind="turn_complete")])
    text = await GeminiRecognizer(scripted(session)).transcribe(b"\0" * 3200, "wav", 16000)
    assert text == "qual é o meu saldo"
    assert session.sent == [("audio", (3200, "audio/pcm;rate=16000"))]


def test_the_declarations_are_valid_sdk_tools_built_from_the_schema() -> None:
    config = live_config()
    declared = {d.name for d in config.tools[0].function_declarations}
    assert declared == {i.value for i in IntentName}
    top_up = next(d for d in function_declarations() if d["name"] == "top_up")
    assert top_up["parameters"]["required"] == ["amount_centavos"]


def test_sdk_messages_become_events() -> None:
    from google.genai import types

    message = types.LiveServerMessage(
        tool_call=types.LiveServerToolCall(function_calls=[
            types.FunctionCall(id="f1", name="wallet_balance", args={})]),
        server_content=types.LiveServerContent(
            input_transcription=types.Transcription(text="saldo"),
            model_turn=types.Content(parts=[types.Part(text="ok")]), turn_complete=True))
    assert [e.kind for e in events_of(message)] == ["tool_call", "transcript", "text",
                                                    "turn_complete"]
