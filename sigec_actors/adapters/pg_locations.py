"""PostgreSQL locations as administrators edit them (with their V2G submarket)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.adapters.pg import to_record
from sigec_actors.ports import DbPool

COLUMNS = ("name", "latitude", "longitude", "address", "city", "state", "postal_code",
           "submarket")
"""The columns an admin may set; anything else in `changes` is a programming error."""


class SiteLocation(msgspec.Struct, frozen=True, kw_only=True):
    """A location with its submarket (None: v2g.default_submarket applies)."""

    id: UUID
    name: str
    latitude: float
    longitude: float
    address: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    submarket: str | None = None
    created_at: datetime | None = None


def _columns(changes: Mapping[str, Any]) -> list[str]:
    unknown = set(changes) - set(COLUMNS)
    assert not unknown, f"not location columns: {sorted(unknown)}"
    return [c for c in COLUMNS if c in changes]


class PgLocations:
    """Create and change locations (a fixed column list: only values are parameters)."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def create(self, values: Mapping[str, Any]) -> SiteLocation:
        cols = _columns(values)
        marks = ", ".join(f"${i}" for i in range(1, len(cols) + 1))
        sql = f"INSERT INTO locations ({', '.join(cols)}) VALUES ({marks}) RETURNING *"  # noqa: S608 -- fixed column list
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(sql, *(values[c] for c in cols))
        return to_record(row, SiteLocation)

    async def update(self, location_id: UUID, changes: Mapping[str, Any]) -> SiteLocation | None:
        """Set `changes` (none: just read it); None when there is no such location."""
        cols = _columns(changes)
        sets = ", ".join(f"{c} = ${i}" for i, c in enumerate(cols, start=2))
        sql = (f"UPDATE locations SET {sets} WHERE id = $1 RETURNING *" if cols  # noqa: S608 -- fixed column list
               else "SELECT * FROM locations WHERE id = $1")
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(sql, location_id, *(changes[c] for c in cols))
        return None if row is None else to_record(row, SiteLocation)
