"""What an administrator may change on a registered station besides its credentials."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sigec_actors.ports import DbPool

DETAILS = frozenset({"vendor", "model", "location_id"})


class PgStationDetails:
    """Vendor, model and location of a station (charge_points row)."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def set_details(self, station_id: str, changes: Mapping[str, Any]) -> bool:
        """Apply `changes` (keys in DETAILS); False when no such station."""
        names = [k for k in changes if k in DETAILS]
        if not names:
            return True
        assigns = ", ".join(f"{n} = ${i}" for i, n in enumerate(names, start=2))
        async with self._pool.acquire() as conn:
            done = await conn.execute(
                f"UPDATE charge_points SET {assigns}, updated_at = now() WHERE id = $1",  # noqa: S608 -- names from DETAILS
                station_id, *(changes[n] for n in names))
        return bool(done != "UPDATE 0")
