"""The CKAN client against a fake CCEE portal on 127.0.0.1, and the file sources."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from sigec_actors.adapters.ccee import CkanPldSource
from sigec_actors.testing.v2g import InMemoryPriceStore
from sigec_actors.v2g.peak import PeakWindow
from sigec_actors.v2g.pricing import Submarket
from sigec_actors.v2g.service import GridPriceService, PriceFetchFailed, PriceRefresher
from sigec_actors.v2g.sources import CsvFileSource, FixtureSource

NOW = datetime(2026, 3, 31, 15, tzinfo=UTC)  # the eve of April: both months are fetched


def records(month: str, days: int) -> list[dict[str, Any]]:
    out = []
    for day in range(1, days + 1):
        for hour in range(24):
            for name in ("SUDESTE", "SUL", "NORDESTE", "NORTE"):
                out.append({"_id": len(out) + 1, "MES_REFERENCIA": month, "SUBMERCADO": name,
                            "PERIODO_COMERCIALIZACAO": (day - 1) * 24 + hour + 1, "DIA": day,
                            "HORA": hour, "PLD_HORA": 300.0 + hour})
    return out


@dataclass
class Portal:
    """A fake CKAN: package_show and datastore_search with filters and paging."""

    data: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    fail: int | None = None  # HTTP status to answer with
    calls: list[str] = field(default_factory=list)

    async def package_show(self, request: web.Request) -> web.Response:
        self.calls.append(f"package_show {request.query['id']}")
        if self.fail:
            return web.Response(status=self.fail, text="Acesso bloqueado")
        resources = [{"id": "r-2025", "name": "pld_horario_2025"},
                     {"id": "r-2026", "name": "pld_horario_2026"},
                     {"id": "r-old", "name": "pld_historico_semanal_2001_2020",
                      "datastore_active": False}]
        return web.json_response({"success": True, "result": {"resources": resources}})

    async def datastore_search(self, request: web.Request) -> web.Response:
        q = request.query
        month = json.loads(q["filters"])["MES_REFERENCIA"]
        self.calls.append(f"search {q['resource_id']} {month} {q['offset']}")
        rows = [r for r in self.data.get(q["resource_id"], []) if str(r["MES_REFERENCIA"]) == month]
        offset, limit = int(q["offset"]), int(q["limit"])
        return web.json_response({"success": True, "result": {
            "records": rows[offset:offset + limit], "total": len(rows), "fields": []}})


@pytest.fixture
async def portal() -> AsyncIterator[tuple[Portal, str]]:
    fake = Portal()
    app = web.Application()
    app.router.add_get("/api/3/action/package_show", fake.package_show)
    app.router.add_get("/api/3/action/datastore_search", fake.datastore_search)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield fake, str(server.make_url("/"))
    await server.close()


async def test_fetches_this_and_next_month_in_pages(portal: tuple[Portal, str]) -> None:
    fake, url = portal
    fake.data["r-2026"] = records("202603", 31) + records("202604", 1) + records("202605", 1)
    source = CkanPldSource(url, timeout_s=5, page_size=1000)
    prices = await source.fetch(NOW)
    assert len(prices) == (31 + 1) * 96
    assert fake.calls == ["package_show pld_horario", "search r-2026 202603 0",
                          "search r-2026 202603 1000", "search r-2026 202603 2000",
                          "search r-2026 202604 0"]
    first = min(prices, key=lambda p: p.hour_start)
    assert (first.hour_start, first.pld_centavos_per_mwh, first.source) == (
        datetime(2026, 3, 1, 3, tzinfo=UTC), 30_000, "ccee")


async def test_a_blocked_portal_leaves_the_last_prices_served_as_stale(
        portal: tuple[Portal, str]) -> None:
    fake, url = portal
    fake.data["r-2026"] = records("202603", 31)
    store = InMemoryPriceStore()
    clock = [NOW]
    refresher = PriceRefresher(CkanPldSource(url, timeout_s=5), store, PeakWindow(),
                               lambda: clock[0])
    assert await refresher.run_once() is not None
    service = GridPriceService(store, "ccee", PeakWindow())
    price, stale = await service.current(Submarket.SE, NOW)
    assert price is not None and not stale
    fake.fail = 403
    assert await refresher.run_once() is None
    assert await service.current(Submarket.SE, NOW) == (price, True)
    status = await store.fetch_status("ccee")
    assert status is not None and "HTTP 403" in (status.last_error or "")


async def test_unreachable_and_empty_portals_fail_typed(portal: tuple[Portal, str]) -> None:
    _, url = portal
    with pytest.raises(PriceFetchFailed, match="no records"):
        await CkanPldSource(url).fetch(NOW)
    closed = TestServer(web.Application(), host="127.0.0.1")
    await closed.start_server()
    dead_url = str(closed.make_url("/"))
    await closed.close()
    with pytest.raises(PriceFetchFailed, match=r"ClientConnectorError|ClientOSError"):
        await CkanPldSource(dead_url, timeout_s=2).fetch(NOW)


async def test_file_sources(tmp_path: Path) -> None:
    fixture = await FixtureSource().fetch(NOW)
    assert len(fixture) == 9 * 24 * 4
    assert {p.source for p in fixture} == {"fixture"}
    csv = tmp_path / "pld.csv"
    csv.write_bytes(b"MES_REFERENCIA;SUBMERCADO;PERIODO_COMERCIALIZACAO;DIA;HORA;PLD_HORA\n"
                    b"202603;SUL;1;1;0;300.5\n")
    prices = await CsvFileSource(csv).fetch(NOW)
    assert [(p.submarket, p.pld_centavos_per_mwh, p.source) for p in prices] == [
        (Submarket.S, 30_050, "csv")]
    with pytest.raises(PriceFetchFailed, match="cannot read"):
        await CsvFileSource(tmp_path / "missing.csv").fetch(NOW)
    csv.write_bytes(b"nothing here\n")
    with pytest.raises(PriceFetchFailed, match="not a CCEE"):
        await CsvFileSource(csv).fetch(NOW)
