"""PostgreSQL device-model store (migration 0018)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sigec_actors.adapters.pg import to_record, transaction
from sigec_actors.device_model.model import EventRow, MonitorRow, Part, RequestKind, VariableRow
from sigec_actors.device_model.ports import ABANDONED_UPLOAD_S, LogRecord, RequestView
from sigec_actors.ports import DbPool

_PART = (
    "INSERT INTO device_report_parts (charge_point_id, kind, request_id, seq_no, tbc,"
    " generated_at, items, data) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
    " ON CONFLICT DO NOTHING RETURNING seq_no")
_VARIABLES = (
    "INSERT INTO device_variables AS v (charge_point_id, key, component, component_instance,"
    " evse_id, connector_id, variable, variable_instance, attribute_type, value, mutability,"
    " persistent, constant, characteristics, reboot_required, updated_at)"
    " SELECT $1, * FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::int[],"
    " $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::bool[], $13::bool[],"
    " $14::jsonb[], $15::bool[]), (SELECT $16::timestamptz) AS at"
    " ON CONFLICT (charge_point_id, key) DO UPDATE SET value = excluded.value,"
    " mutability = coalesce(excluded.mutability, v.mutability),"
    " persistent = coalesce(excluded.persistent, v.persistent),"
    " constant = coalesce(excluded.constant, v.constant),"
    " characteristics = coalesce(excluded.characteristics, v.characteristics),"
    " reboot_required = excluded.reboot_required, updated_at = excluded.updated_at")
_MONITORS = (
    "INSERT INTO device_monitors (charge_point_id, monitor_id, component, component_instance,"
    " evse_id, connector_id, variable, variable_instance, type, value, severity, transaction,"
    " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
    " ON CONFLICT (charge_point_id, monitor_id) DO UPDATE SET component = excluded.component,"
    " component_instance = excluded.component_instance, evse_id = excluded.evse_id,"
    " connector_id = excluded.connector_id, variable = excluded.variable,"
    " variable_instance = excluded.variable_instance, type = excluded.type,"
    " value = excluded.value, severity = excluded.severity,"
    " transaction = excluded.transaction, updated_at = excluded.updated_at")
_EVENTS = (  # the new rows, and those stored before (a retry), each with its severity
    "WITH new AS (INSERT INTO device_events (charge_point_id, generated_at, seq_no, event_id,"
    " occurred_at, trigger, notification_type, component, variable, evse_id, actual_value, cleared,"
    " variable_monitoring_id, data, severity)"
    " SELECT $1, $2, $3, e.*, (SELECT severity FROM device_monitors d"
    " WHERE d.charge_point_id = $1 AND d.monitor_id = e.monitor)"
    " FROM unnest($4::int[], $5::timestamptz[], $6::text[], $7::text[], $8::text[], $9::text[],"
    " $10::int[], $11::text[], $12::bool[], $13::int[], $14::jsonb[])"
    " AS e(event_id, occurred_at, trigger, kind, component, variable, evse_id, actual_value,"
    " cleared, monitor, data)"
    " ON CONFLICT DO NOTHING RETURNING event_id, severity)"
    " SELECT event_id, severity FROM new UNION ALL"
    " SELECT event_id, severity FROM device_events WHERE charge_point_id = $1"
    " AND generated_at = $2 AND seq_no = $3 AND event_id = ANY($4::int[])")
_EVENT_COLUMNS = (
    "generated_at, seq_no, event_id, occurred_at, trigger, notification_type, component,"
    " variable, evse_id, actual_value, cleared, variable_monitoring_id, data, severity")
_REQUEST = (
    "INSERT INTO device_requests (charge_point_id, kind, request_id, params, requested_by,"
    " requested_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING request_id")
_FIRST = (
    "INSERT INTO device_requests (charge_point_id, kind, request_id, params, requested_by,"
    " requested_at) SELECT $1, 'report', $2, '{\"reportBase\": \"FullInventory\"}', 'system',"
    " $3 WHERE NOT EXISTS (SELECT 1 FROM device_requests WHERE charge_point_id = $1"
    " AND kind = 'report' AND coalesce(status, '') <> 'NotSent')"
    " ON CONFLICT DO NOTHING RETURNING request_id")
_LOG_COLUMNS = (
    "charge_point_id AS station_id, request_id, log_type, status, filename, requested_at,"
    " expires_at, uploaded_at, stored_name, size_bytes, history")


class PgDeviceModel:
    """The DeviceModelStore on the tables of migration 0018."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def _q(self, method: str, query: str, *args: Any) -> Any:
        async with self._pool.acquire() as conn:
            return await getattr(conn, method)(query, *args)

    async def add_part(self, station_id: str, part: Part) -> bool:
        row = await self._q("fetchval",
            _PART, station_id, part.kind.value, part.request_id, part.seq_no, part.tbc,
            part.generated_at, part.items, part.data)
        return row is not None

    async def put_variables(self, station_id: str, rows: list[VariableRow],
                            now: datetime) -> None:
        if not rows:
            return
        rows = list({r.key: r for r in rows}.values())  # one row may not be updated twice
        columns = [[getattr(r, name) for r in rows] for name in (
            "key", "component", "component_instance", "evse_id", "connector_id", "variable",
            "variable_instance", "attribute_type", "value", "mutability", "persistent",
            "constant", "characteristics", "reboot_required")]
        await self._q("execute", _VARIABLES, station_id, *columns, now)

    async def put_monitors(self, station_id: str, rows: list[MonitorRow],
                           now: datetime) -> None:
        if not rows:
            return
        async with transaction(self._pool) as conn:
            for r in rows:
                await conn.execute(_MONITORS, station_id, r.id, r.component,
                                   r.component_instance, r.evse_id, r.connector_id, r.variable,
                                   r.variable_instance, r.type, r.value, r.severity,
                                   r.transaction, now)

    async def keep_only(self, station_id: str, *, keys: set[str] | None = None,
                        monitor_ids: set[int] | None = None) -> None:
        if keys is not None:
            await self._q("execute", "DELETE FROM device_variables WHERE charge_point_id = $1"
                          " AND NOT key = ANY($2::text[])", station_id, sorted(keys))
        if monitor_ids is not None:
            await self._q("execute", "DELETE FROM device_monitors WHERE charge_point_id = $1"
                          " AND NOT monitor_id = ANY($2::int[])", station_id,
                          sorted(monitor_ids))

    async def drop_monitors(self, station_id: str, ids: list[int]) -> None:
        await self._q("execute",
            "DELETE FROM device_monitors WHERE charge_point_id = $1"
            " AND monitor_id = ANY($2::int[])", station_id, ids)

    async def add_events(self, station_id: str, rows: list[EventRow]) -> list[EventRow]:
        stored: list[EventRow] = []
        by_message: dict[tuple[datetime, int], list[EventRow]] = {}
        for r in rows:  # one NotifyEvent: one (generatedAt, seqNo); one statement per message
            by_message.setdefault((r.generated_at, r.seq_no), []).append(r)
        for (generated_at, seq_no), listed in by_message.items():
            group = list({r.event_id: r for r in listed}.values())  # a repeat is one event
            columns = [[getattr(r, name) for r in group] for name in (
                "event_id", "occurred_at", "trigger", "notification_type", "component",
                "variable", "evse_id", "actual_value", "cleared", "variable_monitoring_id",
                "data")]
            found = await self._q("fetch", _EVENTS, station_id, generated_at, seq_no,
                                  *columns)
            severity = {f["event_id"]: f["severity"] for f in found}
            stored += [to_record({**_fields(r), "severity": severity[r.event_id]}, EventRow)
                       for r in group if r.event_id in severity]
        return stored

    async def add_request(self, station_id: str, kind: RequestKind, request_id: int,
                          params: dict[str, Any], by: str | None, now: datetime) -> bool:
        row = await self._q("fetchval", _REQUEST, station_id, kind.value, request_id, params,
                                        by, now)
        return row is not None

    async def first_inventory(self, station_id: str, request_id: int, now: datetime) -> bool:
        return await self._q("fetchval", _FIRST, station_id, request_id, now) is not None

    async def answered(self, station_id: str, kind: RequestKind, request_id: int,
                       status: str) -> None:
        await self._q("execute",
            "UPDATE device_requests SET status = $4 WHERE charge_point_id = $1 AND kind = $2"
            " AND request_id = $3", station_id, kind.value, request_id, status)

    async def request(self, station_id: str, kind: RequestKind,
                      request_id: int) -> RequestView | None:
        async with self._pool.acquire() as conn:
            head = await conn.fetchrow(
                "SELECT status, params, requested_at FROM device_requests"
                " WHERE charge_point_id = $1 AND kind = $2 AND request_id = $3",
                station_id, kind.value, request_id)
            parts = await conn.fetch(
                "SELECT kind, request_id, seq_no, tbc, generated_at, items, data"
                " FROM device_report_parts WHERE charge_point_id = $1 AND kind = $2"
                " AND request_id = $3 ORDER BY seq_no", station_id, kind.value, request_id)
        if head is None and not parts:
            return None
        return RequestView(
            kind=kind, request_id=request_id, status=head["status"] if head else None,
            params=head["params"] if head else {},
            requested_at=head["requested_at"] if head else parts[0]["generated_at"],
            parts=[to_record(p, Part) for p in parts])

    async def variables(self, station_id: str, component: str | None,
                        variable: str | None) -> list[VariableRow]:
        rows = await self._q("fetch",
            "SELECT * FROM device_variables WHERE charge_point_id = $1"
            " AND ($2::text IS NULL OR component = $2) AND ($3::text IS NULL OR variable = $3)"
            " ORDER BY key", station_id, component, variable)
        return [to_record(_without(r, "charge_point_id"), VariableRow) for r in rows]

    async def monitors(self, station_id: str) -> list[MonitorRow]:
        rows = await self._q("fetch",
            "SELECT monitor_id AS id, component, component_instance, evse_id, connector_id,"
            " variable, variable_instance, type, value, severity, transaction"
            " FROM device_monitors WHERE charge_point_id = $1 ORDER BY monitor_id", station_id)
        return [to_record(r, MonitorRow) for r in rows]

    async def events(self, station_id: str, limit: int,
                     offset: int) -> tuple[list[EventRow], int]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                f"SELECT {_EVENT_COLUMNS} FROM device_events WHERE charge_point_id = $1"  # noqa: S608
                " ORDER BY occurred_at DESC, id DESC LIMIT $2 OFFSET $3",
                station_id, limit, offset)
            total = await conn.fetchval(
                "SELECT count(*) FROM device_events WHERE charge_point_id = $1", station_id)
        return [to_record(r, EventRow) for r in rows], int(total)

    async def add_log(self, record: LogRecord, token_hash: bytes, by: str | None) -> bool:
        row = await self._q("fetchval",
            "INSERT INTO device_logs (charge_point_id, request_id, log_type, token_hash,"
            " requested_by, requested_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
            " ON CONFLICT (charge_point_id, request_id) DO NOTHING RETURNING request_id",
            record.station_id, record.request_id, record.log_type, token_hash, by,
            record.requested_at, record.expires_at)
        return row is not None

    async def log_answered(self, station_id: str, request_id: int, status: str,
                           filename: str | None) -> None:
        await self._q("execute",
            "UPDATE device_logs SET status = $3, filename = $4 WHERE charge_point_id = $1"
            " AND request_id = $2", station_id, request_id, status, filename)

    async def log_status(self, station_id: str, request_id: int | None, status: str,
                         now: datetime) -> None:
        entry = [{"status": status, "at": now.isoformat()}]
        await self._q("execute",
            "UPDATE device_logs SET history = history || $3::jsonb WHERE charge_point_id = $1"
            " AND request_id = coalesce($2, (SELECT request_id FROM device_logs"
            " WHERE charge_point_id = $1 ORDER BY requested_at DESC, request_id DESC LIMIT 1))",
            station_id, request_id, entry)

    async def logs(self, station_id: str) -> list[LogRecord]:
        rows = await self._q("fetch",
            f"SELECT {_LOG_COLUMNS} FROM device_logs WHERE charge_point_id = $1"  # noqa: S608
            " ORDER BY requested_at DESC, request_id DESC", station_id)
        return [_log(r) for r in rows]

    async def claim_upload(self, token_hash: bytes, now: datetime) -> LogRecord | None:
        row = await self._q("fetchrow",
            "UPDATE device_logs SET uploaded_at = $2 WHERE token_hash = $1"  # noqa: S608
            " AND expires_at > $2 AND (uploaded_at IS NULL"
            " OR (stored_name IS NULL AND uploaded_at < $2 - make_interval(secs => $3)))"
            f" RETURNING {_LOG_COLUMNS}", token_hash, now, ABANDONED_UPLOAD_S)
        return None if row is None else _log(row)

    async def uploaded(self, station_id: str, request_id: int, stored_name: str | None,
                       size_bytes: int | None) -> None:
        await self._q("execute",
            "UPDATE device_logs SET stored_name = $3, size_bytes = $4,"
            " uploaded_at = CASE WHEN $3::text IS NULL THEN NULL ELSE uploaded_at END"
            " WHERE charge_point_id = $1 AND request_id = $2",
            station_id, request_id, stored_name, size_bytes)


def _fields(row: EventRow) -> dict[str, Any]:
    return {name: getattr(row, name) for name in row.__struct_fields__}


def _without(row: Any, *names: str) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items() if k not in names}


def _log(row: Any) -> LogRecord:
    return to_record(row, LogRecord)
