"""In-memory DeviceModelStore for tests and the in-process API harness."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from msgspec.structs import replace

from sigec_actors.device_model.model import EventRow, MonitorRow, Part, RequestKind, VariableRow
from sigec_actors.device_model.ports import (
    ABANDONED_UPLOAD_S,
    LogRecord,
    LogStatusEntry,
    RequestView,
)

_Request = tuple[str, RequestKind, int]


class InMemoryDeviceModel:
    """The DeviceModelStore port on dicts (same answers as PgDeviceModel, no database)."""

    def __init__(self) -> None:
        self.parts: dict[tuple[str, RequestKind, int, int], Part] = {}
        self.requests: dict[_Request, tuple[dict[str, Any], str | None, datetime]] = {}
        self.variables_: dict[tuple[str, str], VariableRow] = {}
        self.monitors_: dict[tuple[str, int], MonitorRow] = {}
        self.events_: dict[tuple[str, datetime, int, int], EventRow] = {}
        self.logs_: dict[tuple[str, int], tuple[LogRecord, bytes]] = {}

    async def add_part(self, station_id: str, part: Part) -> bool:
        key = (station_id, part.kind, part.request_id, part.seq_no)
        if key in self.parts:
            return False
        self.parts[key] = part
        return True

    async def put_variables(self, station_id: str, rows: list[VariableRow],
                            now: datetime) -> None:
        for row in rows:
            self.variables_[(station_id, row.key)] = replace(row, updated_at=now)

    async def put_monitors(self, station_id: str, rows: list[MonitorRow],
                           now: datetime) -> None:
        for row in rows:
            self.monitors_[(station_id, row.id)] = row

    async def keep_only(self, station_id: str, *, keys: set[str] | None = None,
                        monitor_ids: set[int] | None = None) -> None:
        if keys is not None:
            self.variables_ = {k: v for k, v in self.variables_.items()
                               if k[0] != station_id or k[1] in keys}
        if monitor_ids is not None:
            self.monitors_ = {k: v for k, v in self.monitors_.items()
                              if k[0] != station_id or k[1] in monitor_ids}

    async def drop_monitors(self, station_id: str, ids: list[int]) -> None:
        for monitor_id in ids:
            self.monitors_.pop((station_id, monitor_id), None)

    async def add_events(self, station_id: str, rows: list[EventRow]) -> list[EventRow]:
        stored = []
        for row in rows:
            key = (station_id, row.generated_at, row.seq_no, row.event_id)
            if key not in self.events_:
                monitor = self.monitors_.get((station_id, row.variable_monitoring_id or -1))
                self.events_[key] = replace(row, severity=monitor.severity if monitor else None)
            stored.append(self.events_[key])
        return stored

    async def add_request(self, station_id: str, kind: RequestKind, request_id: int,
                          params: dict[str, Any], by: str | None, now: datetime) -> bool:
        key = (station_id, kind, request_id)
        if key in self.requests:
            return False
        self.requests[key] = (params, None, now)
        return True

    async def first_inventory(self, station_id: str, request_id: int, now: datetime) -> bool:
        if any(s == station_id and k is RequestKind.REPORT and status != "NotSent"
               for (s, k, _), (_, status, _) in self.requests.items()):
            return False
        return await self.add_request(station_id, RequestKind.REPORT, request_id,
                                      {"reportBase": "FullInventory"}, "system", now)

    async def answered(self, station_id: str, kind: RequestKind, request_id: int,
                       status: str) -> None:
        key = (station_id, kind, request_id)
        if key in self.requests:
            params, _, at = self.requests[key]
            self.requests[key] = (params, status, at)

    async def request(self, station_id: str, kind: RequestKind,
                      request_id: int) -> RequestView | None:
        parts = sorted((p for (s, k, r, _), p in self.parts.items()
                        if (s, k, r) == (station_id, kind, request_id)),
                       key=lambda p: p.seq_no)
        head = self.requests.get((station_id, kind, request_id))
        if head is None and not parts:
            return None
        params, status, at = head if head else ({}, None, parts[0].generated_at)
        return RequestView(kind=kind, request_id=request_id, status=status, params=params,
                           requested_at=at, parts=parts)

    async def variables(self, station_id: str, component: str | None,
                        variable: str | None) -> list[VariableRow]:
        return [row for (s, _), row in sorted(self.variables_.items())
                if s == station_id and component in (None, row.component)
                and variable in (None, row.variable)]

    async def monitors(self, station_id: str) -> list[MonitorRow]:
        return [row for (s, _), row in sorted(self.monitors_.items()) if s == station_id]

    async def events(self, station_id: str, limit: int,
                     offset: int) -> tuple[list[EventRow], int]:
        mine = sorted((e for (s, *_), e in self.events_.items() if s == station_id),
                      key=lambda e: e.occurred_at, reverse=True)
        return mine[offset:offset + limit], len(mine)

    async def add_log(self, record: LogRecord, token_hash: bytes, by: str | None) -> bool:
        key = (record.station_id, record.request_id)
        if key in self.logs_:
            return False
        self.logs_[key] = (record, token_hash)
        return True

    async def log_answered(self, station_id: str, request_id: int, status: str,
                           filename: str | None) -> None:
        self._update(station_id, request_id, status=status, filename=filename)

    async def log_status(self, station_id: str, request_id: int | None, status: str,
                         now: datetime) -> None:
        if request_id is None:
            mine = [r for (s, _), (r, _) in self.logs_.items() if s == station_id]
            if not mine:
                return
            request_id = max(mine, key=lambda r: (r.requested_at, r.request_id)).request_id
        found = self.logs_.get((station_id, request_id))
        if found is not None:
            history = [*found[0].history, LogStatusEntry(status, now)]
            self._update(station_id, request_id, history=history)

    async def logs(self, station_id: str) -> list[LogRecord]:
        mine = [r for (s, _), (r, _) in self.logs_.items() if s == station_id]
        return sorted(mine, key=lambda r: (r.requested_at, r.request_id), reverse=True)

    async def claim_upload(self, token_hash: bytes, now: datetime) -> LogRecord | None:
        for record, digest in self.logs_.values():
            abandoned = (record.uploaded_at is not None and record.stored_name is None
                         and record.uploaded_at < now - timedelta(seconds=ABANDONED_UPLOAD_S))
            if (digest == token_hash and (record.uploaded_at is None or abandoned)
                    and record.expires_at > now):
                self._update(record.station_id, record.request_id, uploaded_at=now)
                return self.logs_[(record.station_id, record.request_id)][0]
        return None

    async def uploaded(self, station_id: str, request_id: int, stored_name: str | None,
                       size_bytes: int | None) -> None:
        record = self.logs_[(station_id, request_id)][0]
        self._update(station_id, request_id, stored_name=stored_name, size_bytes=size_bytes,
                     uploaded_at=record.uploaded_at if stored_name else None)

    def _update(self, station_id: str, request_id: int, **changes: Any) -> None:
        found = self.logs_.get((station_id, request_id))
        if found is not None:
            self.logs_[(station_id, request_id)] = (replace(found[0], **changes), found[1])
