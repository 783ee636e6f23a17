"""Stored voice commands and the port that keeps them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol
from uuid import UUID

import msgspec

Outcome = Literal["done", "failed", "clarify", "awaiting_confirmation", "confirmed",
                  "cancelled", "expired"]
Channel = Literal["rest", "ws"]


class VoiceCommand(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    user_id: UUID
    channel: Channel
    transcript: str
    language: str
    recognizer: str
    intent: str | None
    slots: dict[str, Any]
    confidence: float
    outcome: Outcome
    reply: str
    result: Any = None
    http_status: int | None = None
    confirms: UUID | None = None
    latency_ms: float
    created_at: datetime


class VoiceLog(Protocol):
    """voice_commands (PgVoiceLog): each command stored with its `voice.command.processed` event."""

    async def record(self, command: VoiceCommand) -> None: ...

    async def pending(self, user_id: UUID, since: datetime) -> VoiceCommand | None:
        """The user's latest command awaiting a yes/no, if it was asked after `since`."""

    async def settle(self, command_id: UUID, outcome: Outcome) -> bool:
        """Move an awaiting command to `outcome`; False if it was no longer awaiting (so a yes
        said twice, or on two sockets, runs the intent once)."""

    async def history(self, user_id: UUID, limit: int, offset: int
                      ) -> tuple[list[VoiceCommand], int]: ...
