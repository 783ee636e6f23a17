"""The voice service's yes/no rules on in-memory ports: a money-moving intent runs only after
a yes, once, with the pending command's id as the Idempotency-Key; a late yes runs nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sigec_actors.testing.voice import MemoryVoiceLog, ScriptedRest, StaticStationNames
from sigec_actors.voice.executor import Reply
from sigec_actors.voice.rules import RuleRecognizer
from sigec_actors.voice.service import Utterance, VoiceService, yes_or_no

PIX = ("POST", "/api/v1/payments/pix")


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 12, 2, 12, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def _service() -> tuple[VoiceService, MemoryVoiceLog, Clock]:
    log, clock = MemoryVoiceLog(), Clock()
    return (VoiceService(log, RuleRecognizer(), StaticStationNames(["CP-012"]), clock=clock,
                         confirm_ttl_s=60), log, clock)


async def test_a_top_up_runs_once_after_yes_keyed_by_the_question() -> None:
    service, log, _ = _service()
    rest = ScriptedRest({PIX: Reply(201, {"pix": {"copyPaste": "000201..."}})})
    user = uuid.uuid4()
    asked = await service.handle(user, "rest", rest, Utterance(text="top up 50 reais"))
    assert asked.needs_confirmation and rest.calls == []
    done = await service.handle(user, "rest", rest, Utterance(text="yes"))
    assert done.outcome == "done" and done.result == {"pix": {"copyPaste": "000201..."}}
    assert rest.calls == [("POST", "/api/v1/payments/pix", {"amountCentavos": 5000},
                           f"voice-{asked.id}")]
    again = await service.handle(user, "rest", rest, Utterance(text="yes"))
    assert again.outcome == "clarify" and len(rest.calls) == 1
    assert [c.outcome for c in log.commands] == ["confirmed", "done", "clarify"]


async def test_no_cancels_and_a_late_yes_runs_nothing() -> None:
    service, _, clock = _service()
    rest = ScriptedRest({PIX: Reply(201, {})})
    user, other = uuid.uuid4(), uuid.uuid4()
    await service.handle(user, "rest", rest, Utterance(text="coloca vinte reais na carteira"))
    assert (await service.handle(other, "rest", rest, Utterance(text="sim"))).outcome == \
        "clarify"  # someone else's yes confirms nothing
    cancelled = await service.handle(user, "rest", rest, Utterance(text="não"))
    assert cancelled.reply == "Tudo bem, não fiz nada."
    await service.handle(user, "rest", rest, Utterance(text="coloca vinte reais na carteira"))
    clock.now += timedelta(seconds=61)
    late = await service.handle(user, "rest", rest, Utterance(text="sim"))
    assert late.outcome == "clarify" and rest.calls == []


async def test_a_refusal_of_the_api_is_reported_not_hidden() -> None:
    service, _, _ = _service()
    rest = ScriptedRest({("POST", "/api/v1/transactions/start"): Reply(
        402, {"title": "Payment Required", "detail": "charging cannot start: NoCredit"})})
    answer = await service.handle(uuid.uuid4(), "rest", rest,
                                  Utterance(text="start charging at station 12"))
    assert answer.outcome == "failed" and "NoCredit" in answer.reply and "402" in answer.reply


def test_yes_or_no_only_for_short_answers() -> None:
    assert yes_or_no("sim, pode") is True and yes_or_no("No.") is False
    assert yes_or_no("yes stop the charging at station twelve please") is None
    assert yes_or_no("sim não") is None and yes_or_no("saldo") is None
