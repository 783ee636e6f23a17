"""In-memory locations as administrators edit them (the API matrix and route tests)."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.adapters.pg_locations import COLUMNS, SiteLocation


class InMemoryLocations:
    """PgLocations' behaviour in a dict."""

    def __init__(self) -> None:
        self.rows: dict[UUID, SiteLocation] = {}

    async def create(self, values: Mapping[str, Any]) -> SiteLocation:
        assert set(values) <= set(COLUMNS)
        loc = msgspec.convert({"id": str(uuid.uuid4()), **values}, SiteLocation)
        self.rows[loc.id] = loc
        return loc

    async def update(self, location_id: UUID, changes: Mapping[str, Any]) -> SiteLocation | None:
        assert set(changes) <= set(COLUMNS)
        old = self.rows.get(location_id)
        if old is None:
            return None
        self.rows[location_id] = msgspec.structs.replace(old, **changes)
        return self.rows[location_id]
