"""CCEE open-data (CKAN) client for the hourly PLD: package_show, then datastore_search pages."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime, timedelta
from typing import Any

import aiohttp
import structlog

from sigec_actors.v2g.ccee_csv import BRT, BadRow, parse_record
from sigec_actors.v2g.pricing import HourPrice
from sigec_actors.v2g.service import PriceFetchFailed

log = structlog.get_logger("v2g.ccee")
PAGE = 1000
MAX_PAGES = 10  # a month is 2,976 records (31 x 24 x 4): 3 pages; more means a wrong filter
_YEAR = re.compile(r"(20[0-9]{2})")


class CkanPldSource:
    """Hourly PLD of the current month (and the next, on its eve) from a CKAN portal.

    Resource ids are resolved through `package_show` every round (one resource per year,
    named with the year), never hard-coded. Each request has `timeout_s`; any network error,
    non-2xx status, `success: false` or malformed payload raises PriceFetchFailed, and the
    refresher then marks stored prices stale. It runs in the background refresh job only.
    """

    name = "ccee"

    def __init__(self, base_url: str, dataset: str = "pld_horario", timeout_s: float = 10.0,
                 page_size: int = PAGE) -> None:
        self.base = base_url.rstrip("/") + "/api/3/action/"
        self.dataset = dataset
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.page_size = page_size

    async def fetch(self, now: datetime) -> list[HourPrice]:
        local = now.astimezone(BRT)
        months = sorted({f"{local:%Y%m}", f"{local + timedelta(days=1):%Y%m}"})
        try:
            async with aiohttp.ClientSession(
                    timeout=self.timeout, headers={"User-Agent": "sigec-ve"}) as session:
                resources = await self._resources(session)
                prices: list[HourPrice] = []
                for month in months:
                    resource = resources.get(int(month[:4]))
                    if resource is not None:
                        prices += await self._month(session, resource, month)
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError, TypeError) as exc:
            raise PriceFetchFailed(self.name, f"{type(exc).__name__}: {exc}") from None
        if not prices:
            raise PriceFetchFailed(self.name, f"no records for {', '.join(months)}")
        return prices

    async def _call(self, session: aiohttp.ClientSession, action: str,
                    params: dict[str, str]) -> Any:
        async with session.get(self.base + action, params=params) as resp:
            if resp.status != 200:
                raise ValueError(f"{action}: HTTP {resp.status}")
            body = await resp.json(content_type=None)
        if not isinstance(body, dict) or body.get("success") is not True:
            raise ValueError(f"{action}: success is not true")
        return body["result"]

    async def _resources(self, session: aiohttp.ClientSession) -> dict[int, str]:
        """Year -> resource id of the dataset (from each resource's name)."""
        result = await self._call(session, "package_show", {"id": self.dataset})
        found: dict[int, str] = {}
        for resource in result["resources"]:
            match = _YEAR.search(str(resource.get("name", "")))
            if match and resource.get("datastore_active", True):
                found[int(match.group(1))] = str(resource["id"])
        return found

    async def _month(self, session: aiohttp.ClientSession, resource: str,
                     month: str) -> list[HourPrice]:
        prices: list[HourPrice] = []
        bad = 0
        for page in range(MAX_PAGES):
            result = await self._call(session, "datastore_search", {
                "resource_id": resource, "limit": str(self.page_size),
                "offset": str(page * self.page_size),
                "filters": json.dumps({"MES_REFERENCIA": month})})
            records = result["records"]
            for record in records:
                try:
                    row = parse_record(record, int(record.get("_id", 0)))
                except BadRow:
                    bad += 1
                    continue
                prices.append(HourPrice(row.submarket, row.hour_start,
                                        row.pld_centavos_per_mwh, False, self.name))
            if not records or (page + 1) * self.page_size >= int(result.get("total", 0)):
                break
            await asyncio.sleep(0)
        if bad:
            log.warning("ccee_bad_records", month=month, bad=bad)
        return prices
