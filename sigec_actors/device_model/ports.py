"""The device-model store port: PostgreSQL (device_model.pg) and in memory (testing)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

import msgspec

from sigec_actors.device_model.model import EventRow, MonitorRow, Part, RequestKind, VariableRow

ABANDONED_UPLOAD_S = 600.0
"""An upload claimed this long ago and never stored (its node died mid-body) is free again."""


class RequestView(msgspec.Struct, frozen=True, kw_only=True):
    """A request answered in parts and the parts received so far (seq_no order)."""

    kind: RequestKind
    request_id: int
    status: str | None
    params: dict[str, Any]
    requested_at: datetime
    parts: list[Part]


class LogStatusEntry(msgspec.Struct, frozen=True):
    status: str
    at: datetime


class LogRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A GetLog request, its upload slot and what the station notified about it."""

    station_id: str
    request_id: int
    log_type: str
    status: str | None = None
    filename: str | None = None
    requested_at: datetime
    expires_at: datetime
    uploaded_at: datetime | None = None
    stored_name: str | None = None
    size_bytes: int | None = None
    history: list[LogStatusEntry] = msgspec.field(default_factory=list)


class DeviceModelStore(Protocol):
    """What the station handlers and the REST routes store and read."""

    async def add_part(self, station_id: str, part: Part) -> bool:
        """Store one part; False when that (kind, requestId, seqNo) was stored before."""
        ...

    async def put_variables(self, station_id: str, rows: list[VariableRow],
                            now: datetime) -> None: ...

    async def put_monitors(self, station_id: str, rows: list[MonitorRow],
                           now: datetime) -> None: ...

    async def drop_monitors(self, station_id: str, ids: list[int]) -> None: ...

    async def keep_only(self, station_id: str, *, keys: set[str] | None = None,
                        monitor_ids: set[int] | None = None) -> None:
        """After a complete unfiltered report: drop the variables whose key (or the monitors
        whose id) it did not name."""
        ...

    async def add_events(self, station_id: str, rows: list[EventRow]) -> list[EventRow]:
        """Store the events not stored before, with their monitor's severity; return every
        event of `rows` as stored (a retried message gets its first storing's rows)."""
        ...

    async def add_request(self, station_id: str, kind: RequestKind, request_id: int,
                          params: dict[str, Any], by: str | None, now: datetime) -> bool:
        """Record a request before it is sent; False if that requestId is taken."""
        ...

    async def first_inventory(self, station_id: str, request_id: int, now: datetime) -> bool:
        """Record a FullInventory request unless the station was ever asked for a report."""
        ...

    async def answered(self, station_id: str, kind: RequestKind, request_id: int,
                       status: str) -> None: ...

    async def request(self, station_id: str, kind: RequestKind,
                      request_id: int) -> RequestView | None: ...

    async def variables(self, station_id: str, component: str | None,
                        variable: str | None) -> list[VariableRow]: ...

    async def monitors(self, station_id: str) -> list[MonitorRow]: ...

    async def events(self, station_id: str, limit: int,
                     offset: int) -> tuple[list[EventRow], int]: ...

    async def add_log(self, record: LogRecord, token_hash: bytes, by: str | None) -> bool:
        """False if that requestId is taken for the station."""
        ...

    async def log_answered(self, station_id: str, request_id: int, status: str,
                           filename: str | None) -> None: ...

    async def log_status(self, station_id: str, request_id: int | None, status: str,
                         now: datetime) -> None:
        """Append to the request's history (no requestId: the station's latest request)."""
        ...

    async def logs(self, station_id: str) -> list[LogRecord]: ...

    async def claim_upload(self, token_hash: bytes, now: datetime) -> LogRecord | None:
        """Take a live, unused upload slot (once); None if unknown, used or expired. A slot
        claimed long ago whose file was never stored (the node died mid-upload) is free again."""
        ...

    async def uploaded(self, station_id: str, request_id: int, stored_name: str | None,
                       size_bytes: int | None) -> None:
        """The file is stored (or, with None, the claimed upload failed and is free again)."""
        ...
