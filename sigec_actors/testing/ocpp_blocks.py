"""In-memory BlocksStore for tests of the OCPP blocks (local lists, display, meter values)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from msgspec.structs import replace

from sigec_actors.ocpp_blocks.records import (
    DisplayMessage,
    DisplayQuery,
    ListToken,
    LocalList,
    MeterSample,
)


class InMemoryBlocks:
    """BlocksStore on dicts; `tokens` plays the id_tokens table."""

    def __init__(self, tokens: Sequence[ListToken] = ()) -> None:
        self.tokens = list(tokens)
        self.lists: dict[str, LocalList] = {}
        self.meter: dict[str, list[MeterSample]] = {}
        self.display: dict[str, dict[int, DisplayMessage]] = {}
        self.queries: dict[tuple[str, int], DisplayQuery] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._query_times: dict[tuple[str, int], datetime] = {}

    @asynccontextmanager
    async def list_lock(self, station_id: str) -> AsyncIterator[None]:
        async with self._locks.setdefault(station_id, asyncio.Lock()):
            yield

    async def local_list(self, station_id: str) -> LocalList | None:
        return self.lists.get(station_id)

    async def save_local_list(self, station_id: str, stored: LocalList) -> None:
        self.lists[station_id] = stored

    async def list_tokens(self, limit: int) -> list[ListToken]:
        return self.tokens[:limit]

    async def add_samples(self, station_id: str, samples: Sequence[MeterSample]) -> None:
        self.meter.setdefault(station_id, []).extend(samples)

    async def samples(self, station_id: str, since: datetime, until: datetime,
                      measurand: str | None, limit: int) -> list[MeterSample]:
        found = [s for s in self.meter.get(station_id, [])
                 if since <= s.sampled_at < until and measurand in (None, s.measurand)]
        return sorted(found, key=lambda s: s.sampled_at)[:limit]

    async def put_message(self, station_id: str, message: DisplayMessage) -> None:
        self.display.setdefault(station_id, {})[message.id] = message

    async def delete_message(self, station_id: str, message_id: int) -> None:
        self.display.get(station_id, {}).pop(message_id, None)

    async def messages(self, station_id: str) -> list[DisplayMessage]:
        return [self.display[station_id][k] for k in sorted(self.display.get(station_id, {}))]

    async def query_sent(self, station_id: str, request_id: int, status: str) -> None:
        self._query_times.setdefault((station_id, request_id), datetime.now(UTC))
        old = self.queries.get((station_id, request_id))
        self.queries[station_id, request_id] = (
            DisplayQuery(request_id=request_id, status=status) if old is None
            else replace(old, status=status))

    async def query(self, station_id: str, request_id: int) -> DisplayQuery | None:
        return self.queries.get((station_id, request_id))

    async def report(self, station_id: str, request_id: int,
                     messages: Sequence[dict[str, Any]], complete: bool) -> None:
        shown = self.display.setdefault(station_id, {})
        for info in messages:
            shown[info["id"]] = DisplayMessage(id=info["id"], source="reported", message=info,
                                               request_id=request_id)
        if complete and (station_id, request_id) in self.queries:
            for key in [k for k, v in shown.items() if v.request_id != request_id]:
                del shown[key]
        self._query_times.setdefault((station_id, request_id), datetime.now(UTC))
        old = self.queries.get((station_id, request_id)) or DisplayQuery(
            request_id=request_id, status="Accepted")
        self.queries[station_id, request_id] = replace(old, parts=old.parts + 1,
                                                       complete=old.complete or complete)

    async def forget_query(self, station_id: str, request_id: int) -> None:
        self.queries.pop((station_id, request_id), None)

    async def forget_messages(self, station_id: str) -> None:
        self.display.pop(station_id, None)

    async def prune(self, samples_before: datetime, queries_before: datetime) -> int:
        deleted = 0
        for station_id, rows in self.meter.items():
            kept = [r for r in rows if r.sampled_at >= samples_before]
            deleted += len(rows) - len(kept)
            self.meter[station_id] = kept
        old = [k for k in self.queries if self._query_times[k] < queries_before]
        for key in old:
            del self.queries[key], self._query_times[key]
        return deleted + len(old)
