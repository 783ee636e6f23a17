"""In-memory voice ports for unit tests: the command log, station names, a scripted REST API
and a scripted Gemini Live session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from sigec_actors.voice.executor import Reply
from sigec_actors.voice.gemini import Connect, LiveEvent, LiveSession
from sigec_actors.voice.records import Outcome, VoiceCommand


class MemoryVoiceLog:
    def __init__(self) -> None:
        self.commands: list[VoiceCommand] = []

    async def record(self, command: VoiceCommand) -> None:
        self.commands.append(command)

    async def pending(self, user_id: UUID, since: datetime) -> VoiceCommand | None:
        for c in reversed(self.commands):
            if (c.user_id == user_id and c.outcome == "awaiting_confirmation"
                    and c.created_at >= since):
                return c
        return None

    async def settle(self, command_id: UUID, outcome: Outcome) -> bool:
        for i, c in enumerate(self.commands):
            if c.id == command_id and c.outcome == "awaiting_confirmation":
                self.commands[i] = VoiceCommand(**{**{f: getattr(c, f) for f in
                                                      c.__struct_fields__}, "outcome": outcome})
                return True
        return False

    async def history(self, user_id: UUID, limit: int, offset: int
                      ) -> tuple[list[VoiceCommand], int]:
        mine = [c for c in reversed(self.commands) if c.user_id == user_id]
        return mine[offset:offset + limit], len(mine)


class StaticStationNames:
    def __init__(self, ids: Sequence[str]) -> None:
        self.list = list(ids)

    async def ids(self) -> list[str]:
        return list(self.list)


class ScriptedRest:
    """Answers (method, path) from a table; records every call."""

    def __init__(self, answers: dict[tuple[str, str], Reply]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, str, dict[str, Any] | None, str | None]] = []

    async def call(self, method: str, path: str, *, body: dict[str, Any] | None = None,
                   query: dict[str, str] | None = None,
                   idempotency_key: str | None = None) -> Reply:
        self.calls.append((method, path, body, idempotency_key))
        return self.answers.get((method, path), Reply(404, {"title": "Not Found"}))


class ScriptedSession:
    """A Gemini Live session that plays `events` and records what was sent to it."""

    def __init__(self, events: Sequence[LiveEvent], *, hang: bool = False) -> None:
        self.script = list(events)
        self.hang = hang
        self.sent: list[tuple[str, Any]] = []

    async def send_text(self, text: str) -> None:
        self.sent.append(("text", text))

    async def send_audio(self, audio: bytes, mime_type: str) -> None:
        self.sent.append(("audio", (len(audio), mime_type)))

    async def events(self) -> AsyncIterator[LiveEvent]:
        for event in self.script:
            yield event
        if self.hang:
            await asyncio.Event().wait()

    async def send_tool_result(self, call_id: str | None, name: str,
                               result: dict[str, Any]) -> None:
        self.sent.append(("tool_result", (call_id, name, result)))


def scripted(session: ScriptedSession) -> Connect:
    @asynccontextmanager
    async def connect() -> AsyncIterator[LiveSession]:
        yield session

    return connect
