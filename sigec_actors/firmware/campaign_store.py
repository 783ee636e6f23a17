"""PostgreSQL storage of firmware campaigns (firmware_campaigns and their jobs' counts)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from sigec_actors.firmware.campaign import (
    CAMPAIGN_TRANSITIONS,
    Campaign,
    CampaignStatus,
    Counts,
    counts_of,
)
from sigec_actors.ports import DbPool

_INSERT = (
    "INSERT INTO firmware_campaigns (id, location, version, signing_certificate, signature,"
    " station_ids, filter, max_concurrent, failure_threshold_percent, retries,"
    " retry_interval_s, created_by, created_at, owner_node, lease_until)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)")
_NEXT = (
    "SELECT s FROM firmware_campaigns c, unnest(c.station_ids) WITH ORDINALITY AS u(s, i)"
    " WHERE c.id = $1 AND NOT EXISTS (SELECT 1 FROM firmware_updates f"
    "  WHERE f.campaign_id = c.id AND f.charge_point_id = u.s)"
    " ORDER BY i LIMIT $2")
_CLAIM = (
    "UPDATE firmware_campaigns SET owner_node = $1, lease_until = $2 WHERE id IN ("
    " SELECT id FROM firmware_campaigns WHERE status IN ('Running', 'Paused')"
    "  AND (owner_node = $1 OR owner_node IS NULL OR lease_until < $3)"
    "  FOR UPDATE SKIP LOCKED) RETURNING id")


class PgCampaignStore:
    """CampaignRows on PostgreSQL, plus what the REST routes need."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def create(self, c: Campaign, owner: str, lease_until: datetime) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(
                _INSERT, c.campaign_id, c.location, c.version, c.signing_certificate,
                c.signature, list(c.station_ids), c.filter, c.max_concurrent,
                c.failure_threshold_percent, c.retries, c.retry_interval_s, c.created_by,
                c.created_at, owner, lease_until)

    async def load(self, campaign_id: UUID) -> Campaign | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow("SELECT * FROM firmware_campaigns WHERE id = $1",
                                      campaign_id)
        return None if row is None else campaign_of(row)

    async def counts(self, campaign: Campaign) -> Counts:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT status, count(*) AS n FROM firmware_updates WHERE campaign_id = $1"
                " GROUP BY status", campaign.campaign_id)
        by_status = {r["status"]: int(r["n"]) for r in rows}
        return counts_of(by_status, len(campaign.station_ids), sum(by_status.values()))

    async def set_status(self, campaign_id: UUID, expected: CampaignStatus,
                         new: CampaignStatus, reason: str | None, now: datetime) -> bool:
        """Move the campaign from `expected` to `new` (a legal step); False if it moved."""
        if new not in CAMPAIGN_TRANSITIONS[expected]:
            return False
        ended = now if not CAMPAIGN_TRANSITIONS[new] - {CampaignStatus.CANCELLED} else None
        async with self._pool.acquire() as conn:
            done = await conn.execute(
                "UPDATE firmware_campaigns SET status = $3, stop_reason = coalesce($4,"
                " stop_reason), ended_at = coalesce($5, ended_at), updated_at = now()"
                " WHERE id = $1 AND status = $2",
                campaign_id, expected.value, new.value, reason, ended)
        return bool(done == "UPDATE 1")

    async def next_stations(self, campaign_id: UUID, limit: int) -> list[str]:
        if limit <= 0:
            return []
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_NEXT, campaign_id, limit)
        return [r["s"] for r in rows]

    async def claim(self, owner: str, now: datetime, lease_until: datetime) -> list[UUID]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(_CLAIM, owner, lease_until, now)
        return [r["id"] for r in rows]

    async def jobs_in(self, campaign_id: UUID, statuses: Sequence[str]) -> list[UUID]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT id FROM firmware_updates WHERE campaign_id = $1"
                " AND status = ANY($2::text[])", campaign_id, list(statuses))
        return [r["id"] for r in rows]

    async def select_stations(self, ids: Sequence[str] | None,
                              where: Mapping[str, str | None]) -> list[str]:
        """The known stations among `ids` (in their order), or those matching `where`
        (vendor, model, firmwareVersion) when no ids are given."""
        async with self._pool.acquire() as conn:
            if ids is not None:
                rows = await conn.fetch(
                    "SELECT u.s AS id FROM unnest($1::text[]) WITH ORDINALITY AS u(s, i)"
                    " JOIN charge_points c ON c.id = u.s ORDER BY u.i", list(dict.fromkeys(ids)))
            else:
                rows = await conn.fetch(
                    "SELECT id FROM charge_points WHERE ($1::text IS NULL OR vendor = $1)"
                    " AND ($2::text IS NULL OR model = $2)"
                    " AND ($3::text IS NULL OR firmware_version = $3) ORDER BY id",
                    where.get("vendor"), where.get("model"), where.get("firmwareVersion"))
        return [r["id"] for r in rows]


def campaign_of(row: Mapping[str, Any]) -> Campaign:
    return Campaign(
        campaign_id=row["id"], location=row["location"], version=row["version"],
        station_ids=tuple(row["station_ids"]), max_concurrent=row["max_concurrent"],
        failure_threshold_percent=row["failure_threshold_percent"], retries=row["retries"],
        retry_interval_s=row["retry_interval_s"],
        signing_certificate=row["signing_certificate"], signature=row["signature"],
        filter=row["filter"], status=CampaignStatus(row["status"]),
        stop_reason=row["stop_reason"], created_by=row["created_by"],
        created_at=row["created_at"], ended_at=row["ended_at"])
