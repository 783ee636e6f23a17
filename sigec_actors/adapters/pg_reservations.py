"""PostgreSQL reservations: admission under locks, one live per EVSE, compare-and-set changes."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any
from uuid import UUID

from sigec_actors.adapters.pg import UniqueViolation, constraint_name, to_record
from sigec_actors.ports import DbPool
from sigec_actors.transactions.errors import ReservationConflict
from sigec_actors.transactions.reservation_model import (
    LIVE,
    NewReservation,
    Reservation,
    ReservationStatus,
)
from sigec_actors.transactions.reservation_rules import (
    DEFAULT_MAX_LIVE_PER_USER,
    Holdings,
    admit,
)

_SELECT = ("SELECT id, ocpp_reservation_id AS ocpp_id, charge_point_id AS station_id, user_id,"
           " id_token, id_token_type, expires_at, status, created_at, evse_id, connector_type"
           " FROM reservations")
_LIVE = [s.value for s in LIVE]
_LOCK = "SELECT pg_advisory_xact_lock(hashtextextended('sigec.reservations:' || $1, 0))"
_HOLDINGS = """
SELECT ARRAY(SELECT DISTINCT evse_id FROM connectors WHERE charge_point_id = $1) AS evses,
       count(*) FILTER (WHERE user_id = $2) AS user_live,
       count(*) FILTER (WHERE user_id = $2 AND charge_point_id = $1 AND evse_id IS NULL)
           AS user_any_here,
       count(*) FILTER (WHERE charge_point_id = $1) AS station_live
  FROM reservations
 WHERE (user_id = $2 OR charge_point_id = $1) AND status = ANY($3::text[])
   AND expires_at > now()"""


def _reservation(row: Any) -> Reservation:
    return to_record(row, Reservation)


class PgReservationRepository:
    """ReservationRepository on the `reservations` table (migration 0001)."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def create(self, new: NewReservation,
                     max_live_per_user: int = DEFAULT_MAX_LIVE_PER_USER) -> Reservation:
        """Check `admit` and insert in one transaction, under advisory locks on the user and
        then the station, so that concurrent requests on any node are counted one by one."""
        try:
            async with self._pool.acquire() as conn, conn.transaction():
                for key in (f"user:{new.user_id}", f"station:{new.station_id}"):
                    await conn.execute(_LOCK, key)
                row = await conn.fetchrow(_HOLDINGS, new.station_id, new.user_id, _LIVE)
                admit(new, Holdings(evses=frozenset(row["evses"]), user_live=row["user_live"],
                                    user_any_here=row["user_any_here"],
                                    station_live=row["station_live"]), max_live_per_user)
                rid = await conn.fetchval(
                    "INSERT INTO reservations (charge_point_id, evse_id, connector_type, user_id,"
                    " id_token, id_token_type, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
                    " RETURNING id", new.station_id, new.evse_id, new.connector_type,
                    new.user_id, new.id_token, new.id_token_type, new.expires_at)
        except UniqueViolation as exc:
            if constraint_name(exc) == "reservations_one_live_per_evse":
                raise ReservationConflict(new.station_id, new.evse_id) from exc
            raise
        found = await self.get(rid)
        assert found is not None
        return found

    async def get(self, reservation_id: UUID) -> Reservation | None:
        return await self._one(_SELECT + " WHERE id = $1", reservation_id)

    async def by_ocpp_id(self, station_id: str, ocpp_id: int) -> Reservation | None:
        return await self._one(
            _SELECT + " WHERE charge_point_id = $1 AND ocpp_reservation_id = $2",
            station_id, ocpp_id)

    async def transition(self, reservation_id: UUID, expected: Collection[ReservationStatus],
                         to: ReservationStatus) -> Reservation | None:
        async with self._pool.acquire() as conn:
            moved = await conn.fetchval(
                "UPDATE reservations SET status = $2 WHERE id = $1 AND status = ANY($3::text[])"
                " RETURNING id", reservation_id, to.value, [s.value for s in expected])
        return None if moved is None else await self.get(reservation_id)

    async def live_for_evse(self, station_id: str, evse_id: int) -> Reservation | None:
        return await self._one(
            _SELECT + " WHERE charge_point_id = $1 AND evse_id = $2 AND status = ANY($3::text[])",
            station_id, evse_id, _LIVE)

    async def due(self, now: datetime, limit: int = 100) -> list[Reservation]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                _SELECT + " WHERE status = ANY($1::text[]) AND expires_at <= $2"
                " ORDER BY expires_at LIMIT $3", _LIVE, now, limit)
        return [_reservation(r) for r in rows]

    async def next_expiry(self) -> datetime | None:
        async with self._pool.acquire() as conn:
            value = await conn.fetchval(
                "SELECT min(expires_at) FROM reservations WHERE status = ANY($1::text[])", _LIVE)
        return value if isinstance(value, datetime) else None

    async def for_user(self, user_id: UUID, limit: int = 50,
                       offset: int = 0) -> list[Reservation]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                _SELECT + " WHERE user_id = $1 ORDER BY created_at DESC, id LIMIT $2 OFFSET $3",
                user_id, limit, offset)
        return [_reservation(r) for r in rows]

    async def page(self, station_id: str | None = None, status: ReservationStatus | None = None,
                   limit: int = 50, offset: int = 0) -> list[Reservation]:
        """ReservationListing: every reservation, newest first, by station and status."""
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                _SELECT + " WHERE ($1::text IS NULL OR charge_point_id = $1)"
                " AND ($2::text IS NULL OR status = $2)"
                " ORDER BY created_at DESC, id LIMIT $3 OFFSET $4",
                station_id, status.value if status else None, limit, offset)
        return [_reservation(r) for r in rows]

    async def _one(self, query: str, *args: Any) -> Reservation | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(query, *args)
        return None if row is None else _reservation(row)
