"""PostgreSQL reads and small writes behind the V2G REST routes: capability, preferences, stats."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.adapters.pg import to_record, transaction
from sigec_actors.domain.transactions import Transaction
from sigec_actors.ports import DbPool

MODES = ("v201_negative_limit", "ocpp21_setpoint", "unsupported")
_LATEST_SOC = (
    "SELECT DISTINCT ON (t.evse_id) t.evse_id, round(m.value)::int AS soc, m.sampled_at AS at"
    " FROM transactions t"
    " JOIN meter_values m ON m.transaction_id = t.id AND m.measurand = 'SoC'"
    " WHERE t.charge_point_id = $1 AND t.status = 'Active'"
    " ORDER BY t.evse_id, m.sampled_at DESC")


class EvseCapability(msgspec.Struct, frozen=True):
    evse_id: int
    current_soc: int | None


class Capability(msgspec.Struct, frozen=True, kw_only=True):
    station_id: str
    online: bool
    mode: str
    max_discharge_w: int | None
    evses: list[EvseCapability]


class Preferences(msgspec.Struct, frozen=True, kw_only=True):
    auto_discharge: bool = False
    min_grid_price_centavos_mwh: int | None = None
    max_discharge_wh: int | None = None
    preserve_soc: int = 20
    notify_on_start: bool = True
    notify_on_end: bool = True


class DayStats(msgspec.Struct, frozen=True):
    day: str
    sessions: int
    exported_wh: int
    earnings_centavos: int


class PgV2GQueries:
    """What the V2G routes read and set besides the session actors' own rows."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def capability(self, station_id: str) -> Capability | None:
        async with self._pool.acquire() as conn:
            online = await conn.fetchval("SELECT online FROM charge_points WHERE id = $1",
                                         station_id)
            if online is None:
                return None
            caps = await conn.fetch(
                "SELECT evse_id, mode, max_discharge_w, current_soc, soc_reported_at"
                " FROM v2g_capabilities WHERE charge_point_id = $1 ORDER BY evse_id", station_id)
            evses = await conn.fetch(
                "SELECT DISTINCT evse_id FROM connectors WHERE charge_point_id = $1", station_id)
            metered = await conn.fetch(_LATEST_SOC, station_id)
        socs = _newest_socs(caps, metered)
        ids = sorted({r["evse_id"] for r in caps} | {r["evse_id"] for r in evses}
                     | {e for e in socs if e is not None})
        first = caps[0] if caps else None
        return Capability(
            station_id=station_id, online=bool(online),
            mode=first["mode"] if first else "unsupported",
            max_discharge_w=first["max_discharge_w"] if first else None,
            evses=[EvseCapability(e, socs.get(e)) for e in ids])

    async def set_mode(self, station_id: str, mode: str, max_discharge_w: int | None) -> None:
        """One mode per station, kept on a row per known EVSE (EVSE 1 when none is known)."""
        async with transaction(self._pool) as conn:
            rows = await conn.fetch(
                "SELECT DISTINCT evse_id FROM connectors WHERE charge_point_id = $1", station_id)
            ids = sorted({r["evse_id"] for r in rows}) or [1]
            await conn.execute(
                "INSERT INTO v2g_capabilities (charge_point_id, evse_id, mode, max_discharge_w,"
                " supported, bidirectional) SELECT $1, e, $3, $4, $5, $5 FROM unnest($2::int[]) e"
                " ON CONFLICT (charge_point_id, evse_id, connector_id) DO NOTHING",
                station_id, ids, mode, max_discharge_w, mode != "unsupported")
            await conn.execute(
                "UPDATE v2g_capabilities SET mode = $2, max_discharge_w = $3, supported = $4,"
                " bidirectional = $4, last_updated = now() WHERE charge_point_id = $1",
                station_id, mode, max_discharge_w, mode != "unsupported")

    async def report_soc(self, station_id: str, evse_id: int, soc: int, at: datetime) -> None:
        """The car's SoC the station reported on that EVSE (NotifyEVChargingNeeds); a new row
        takes the station's mode from its other EVSEs; an older report changes nothing."""
        async with self._pool.acquire() as conn:
            await conn.execute(_REPORT_SOC, station_id, evse_id, soc, at)

    async def active_transaction(self, station_id: str, evse_id: int | None) -> Transaction | None:
        """The newest Active transaction on that EVSE (any EVSE when None)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT *, charge_point_id AS station_id FROM transactions"
                " WHERE charge_point_id = $1 AND status = 'Active'"
                " AND ($2::int IS NULL OR evse_id = $2) ORDER BY started_at DESC NULLS LAST"
                " LIMIT 1", station_id, evse_id)
        return None if row is None else to_record(row, Transaction)

    async def preferences(self, user_id: UUID) -> Preferences:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM v2g_preferences WHERE user_id = $1",
                                      user_id)
        return Preferences() if row is None else to_record(row, Preferences)

    async def set_preferences(self, user_id: UUID, p: Preferences) -> Preferences:
        async with self._pool.acquire() as conn:
            await conn.execute(
                "INSERT INTO v2g_preferences (user_id, auto_discharge,"
                " min_grid_price_centavos_mwh, max_discharge_wh, preserve_soc, notify_on_start,"
                " notify_on_end) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id) DO"
                " UPDATE SET auto_discharge = $2, min_grid_price_centavos_mwh = $3,"
                " max_discharge_wh = $4, preserve_soc = $5, notify_on_start = $6,"
                " notify_on_end = $7", user_id, p.auto_discharge, p.min_grid_price_centavos_mwh,
                p.max_discharge_wh, p.preserve_soc, p.notify_on_start, p.notify_on_end)
        return p

    async def session_row(self, session_id: UUID) -> dict[str, Any] | None:
        """The session with its compensation (for the REST view)."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(_VIEW + " WHERE s.id = $1", session_id)
        return None if row is None else dict(row)

    async def live_row(self, station_id: str) -> dict[str, Any] | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                _VIEW + " WHERE s.charge_point_id = $1 AND s.status IN"
                " ('Requested', 'Active', 'Stopping') ORDER BY s.created_at DESC LIMIT 1",
                station_id)
        return None if row is None else dict(row)

    async def stats(self, user_id: UUID, since: datetime | None) -> list[DayStats]:
        """Per UTC day: sessions that ended, Wh exported and net paid, oldest day first."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT to_char(date_trunc('day', s.ended_at AT TIME ZONE 'UTC'), 'YYYY-MM-DD')"
                " AS day, count(*) AS sessions, coalesce(sum(s.energy_transferred_wh), 0)"
                " AS exported_wh, coalesce(sum(c.net_amount_centavos)"
                " FILTER (WHERE c.status = 'paid'), 0) AS earnings_centavos"
                " FROM v2g_sessions s LEFT JOIN v2g_compensations c ON c.session_id = s.id"
                " WHERE s.user_id = $1 AND s.status = 'Completed'"
                " AND ($2::timestamptz IS NULL OR s.ended_at >= $2) GROUP BY 1 ORDER BY 1",
                user_id, since)
        return [DayStats(r["day"], int(r["sessions"]), int(r["exported_wh"]),
                         int(r["earnings_centavos"])) for r in rows]


_VIEW = (
    "SELECT s.*, c.gross_amount_centavos, c.margin_centavos, c.net_amount_centavos,"
    " c.status AS compensation_status FROM v2g_sessions s"
    " LEFT JOIN v2g_compensations c ON c.session_id = s.id")

_REPORT_SOC = (
    "INSERT INTO v2g_capabilities AS c (charge_point_id, evse_id, mode, max_discharge_w,"
    " supported, bidirectional, current_soc, soc_reported_at)"
    " SELECT $1, $2, coalesce(o.mode, 'unsupported'), o.max_discharge_w,"
    " coalesce(o.supported, false), coalesce(o.bidirectional, false), $3, $4"
    " FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT * FROM v2g_capabilities"
    " WHERE charge_point_id = $1 ORDER BY evse_id LIMIT 1) o ON true"
    " ON CONFLICT (charge_point_id, evse_id, connector_id) DO UPDATE SET"
    " current_soc = EXCLUDED.current_soc, soc_reported_at = EXCLUDED.soc_reported_at"
    " WHERE c.soc_reported_at IS NULL OR c.soc_reported_at <= EXCLUDED.soc_reported_at")


def _newest_socs(caps: list[Any], metered: list[Any]) -> dict[int, int]:
    """Per EVSE, the newer of the reported SoC (capability) and the last SoC meter value."""
    newest: dict[int, tuple[datetime, int]] = {}
    reported = [(r["evse_id"], r["soc_reported_at"], r["current_soc"]) for r in caps]
    for evse, at, soc in [*reported, *((r["evse_id"], r["at"], r["soc"]) for r in metered)]:
        if evse is None or at is None or soc is None:
            continue
        if evse not in newest or at > newest[evse][0]:
            newest[evse] = (at, soc)
    return {evse: soc for evse, (_at, soc) in newest.items()}
