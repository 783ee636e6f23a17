"""PostgreSQL voice_commands (migration 0024) and the `voice.command.processed` outbox event."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.adapters.outbox import add as add_event
from sigec_actors.adapters.pg import connection, transaction
from sigec_actors.domain.events import VOICE_COMMAND_PROCESSED
from sigec_actors.ports import DbPool
from sigec_actors.voice.records import Outcome, VoiceCommand

_COLUMNS = ("id, user_id, channel, transcript, language, recognizer, intent, slots, confidence,"
            " outcome, reply, result, http_status, confirms, latency_ms, created_at")
_INSERT = (f"INSERT INTO voice_commands ({_COLUMNS}) VALUES"  # noqa: S608 -- constant columns
           " ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)")


def _row(row: Any) -> VoiceCommand:
    return msgspec.convert(dict(row), VoiceCommand, from_attributes=False)


def event_of(c: VoiceCommand) -> dict[str, Any]:
    """The event: what was understood and how it ended (never the PIX code or other results)."""
    return {"id": str(c.id), "userId": str(c.user_id), "channel": c.channel,
            "language": c.language, "recognizer": c.recognizer, "intent": c.intent,
            "outcome": c.outcome, "httpStatus": c.http_status,
            "confidence": c.confidence, "latencyMs": round(c.latency_ms, 2),
            "at": c.created_at.isoformat()}


class PgVoiceLog:
    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def record(self, c: VoiceCommand) -> None:
        async with transaction(self._pool) as conn:
            await conn.execute(_INSERT, c.id, c.user_id, c.channel, c.transcript, c.language,
                               c.recognizer, c.intent, c.slots, c.confidence, c.outcome,
                               c.reply, c.result, c.http_status, c.confirms, c.latency_ms,
                               c.created_at)
            await add_event(conn, VOICE_COMMAND_PROCESSED, event_of(c))

    async def pending(self, user_id: UUID, since: datetime) -> VoiceCommand | None:
        async with connection(self._pool) as conn:
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM voice_commands WHERE user_id = $1"  # noqa: S608
                " AND outcome = 'awaiting_confirmation' AND created_at >= $2"
                " ORDER BY created_at DESC LIMIT 1", user_id, since)
        return None if row is None else _row(row)

    async def settle(self, command_id: UUID, outcome: Outcome) -> bool:
        async with connection(self._pool) as conn:
            done = await conn.fetchval(
                "UPDATE voice_commands SET outcome = $2 WHERE id = $1"
                " AND outcome = 'awaiting_confirmation' RETURNING id", command_id, outcome)
        return done is not None

    async def history(self, user_id: UUID, limit: int, offset: int
                      ) -> tuple[list[VoiceCommand], int]:
        async with connection(self._pool) as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS}, count(*) OVER () AS total FROM voice_commands"  # noqa: S608
                " WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
                user_id, limit, offset)
            total = rows[0]["total"] if rows else await conn.fetchval(
                "SELECT count(*) FROM voice_commands WHERE user_id = $1", user_id)
        return [_row({k: val for k, val in r.items() if k != "total"}) for r in rows], int(total)


class PgStationNames:
    """The station ids a driver may name (every registered station, as REST's device list)."""

    def __init__(self, pool: DbPool, limit: int = 50_000) -> None:
        self._pool = pool
        self._limit = limit

    async def ids(self) -> list[str]:
        async with connection(self._pool) as conn:
            rows = await conn.fetch("SELECT id FROM charge_points ORDER BY id LIMIT $1",
                                    self._limit)
        return [r["id"] for r in rows]
