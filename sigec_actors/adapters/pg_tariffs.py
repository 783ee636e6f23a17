"""PostgreSQL tariffs: per station, EVSE or connector (or network-wide), valid from a time on."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from sigec_actors.adapters.pg import to_record
from sigec_actors.ports import DbPool
from sigec_actors.transactions.tariffs import Tariff

_COLUMNS = ("charge_point_id", "evse_id", "connector_id", "currency", "price_per_kwh_centavos",
            "per_minute_centavos", "idle_per_minute_centavos", "session_fee_centavos")


def _tariff(row: Any) -> Tariff:
    return to_record(row, Tariff)


class PgTariffRepository:
    """TariffRepository on the `tariffs` table (migration 0001)."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def add(self, tariff: Tariff) -> Tariff:
        values = [getattr(tariff, c) for c in _COLUMNS]
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "INSERT INTO tariffs (" + ", ".join(_COLUMNS) + ", valid_from, valid_to)"  # noqa: S608 -- fixed column list
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, coalesce($9, now()), $10)"
                " RETURNING *", *values, tariff.valid_from, tariff.valid_to)
        return _tariff(row)

    async def get(self, tariff_id: UUID) -> Tariff | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM tariffs WHERE id = $1", tariff_id)
        return None if row is None else _tariff(row)

    async def candidates(self, station_id: str) -> list[Tariff]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM tariffs WHERE charge_point_id = $1 OR charge_point_id IS NULL"
                " ORDER BY valid_from", station_id)
        return [_tariff(r) for r in rows]
