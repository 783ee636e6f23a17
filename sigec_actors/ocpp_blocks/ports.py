"""Seams of the OCPP blocks: their store, and the way they send a command to a station."""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol

import msgspec

from sigec_actors.ocpp_blocks.records import (
    DisplayMessage,
    DisplayQuery,
    ListToken,
    LocalList,
    MeterSample,
)


class Sender(Protocol):
    """Sends one CSMS -> station request and returns the station's response (api Commands)."""

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct: ...


class BlocksStore(Protocol):
    """Storage of local-list versions, display messages and meter values (PostgreSQL or memory).

    Every write commits before returning: the station is answered only after it.
    """

    def list_lock(self, station_id: str) -> AbstractAsyncContextManager[None]:
        """Held while a local list is sent to the station, so two senders (on any node)
        never give two lists the same version."""
        ...

    async def local_list(self, station_id: str) -> LocalList | None: ...

    async def save_local_list(self, station_id: str, stored: LocalList) -> None: ...

    async def list_tokens(self, limit: int) -> list[ListToken]: ...

    async def add_samples(self, station_id: str, samples: Sequence[MeterSample]) -> None: ...

    async def samples(self, station_id: str, since: datetime, until: datetime,
                      measurand: str | None, limit: int) -> list[MeterSample]: ...

    async def put_message(self, station_id: str, message: DisplayMessage) -> None: ...

    async def delete_message(self, station_id: str, message_id: int) -> None: ...

    async def messages(self, station_id: str) -> list[DisplayMessage]: ...

    async def query_sent(self, station_id: str, request_id: int, status: str) -> None: ...

    async def query(self, station_id: str, request_id: int) -> DisplayQuery | None: ...

    async def forget_query(self, station_id: str, request_id: int) -> None: ...

    async def report(self, station_id: str, request_id: int,
                     messages: Sequence[dict[str, Any]], complete: bool) -> None:
        """Store a NotifyDisplayMessages part; the last part (`complete`) of a report we asked
        for (a query recorded) drops every message the station did not report in it (its list
        is the truth)."""
        ...

    async def forget_messages(self, station_id: str) -> None: ...

    async def prune(self, samples_before: datetime, queries_before: datetime) -> int:
        """Delete meter samples taken and display queries sent before these times; the
        number of rows deleted."""
        ...
