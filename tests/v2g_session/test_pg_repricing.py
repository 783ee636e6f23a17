"""A compensation failed on a price gap is settled once the prices arrive (real PostgreSQL).

The prices go through the real store (v2g_grid_prices, as `sigec prices import` or a source's
refresh writes them) and the real GridPriceService; the job is `Repricing.run_once`, the admin
route POST /api/v1/admin/v2g/sessions/{id}/settle runs on the in-memory API with the real
repricing object behind it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import msgspec
import pytest

from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_grid_prices import PgGridPrices
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.ports import DbPool
from sigec_actors.v2g.peak import PeakWindow
from sigec_actors.v2g.pricing import HourPrice, Submarket
from sigec_actors.v2g.service import GridPriceService
from sigec_actors.v2g_session.messages import MeterSample, ProfileAnswered
from sigec_actors.v2g_session.pay_store import PgCompensations
from sigec_actors.v2g_session.queries import PgV2GQueries
from sigec_actors.v2g_session.reprice import (
    EXTRAS_KEY,
    PgRepricingQueries,
    RepriceCounts,
    Repricing,
)
from sigec_actors.v2g_session.settle import Settlement
from sigec_actors.v2g_session.state import Status, V2GState, decide
from sigec_actors.v2g_session.store import PgSessionStore
from tests.api.harness import start_api
from tests.v2g.test_prices_cli import _run as sigec_cli
from tests.v2g_session.conftest import H20, H21, POLICY, World

pytestmark = pytest.mark.pg
H22 = H21 + timedelta(hours=1)
# 1200 Wh in 20:00-21:00 x R$ 300/MWh + 1200 Wh in 21:00-22:00 x R$ 520/MWh = 36 + 62.4
# = 98.4 centavos -> 98 (half-even, once); margin 10 % of 98 = 9.8 -> 10; paid 98 - 10 = 88
GROSS, MARGIN, NET = 98, 10, 88
ACROSS_20_21 = [MeterSample(H20 + timedelta(minutes=50), 0),
                MeterSample(H21 + timedelta(minutes=10), 2_400)]
IN_22 = [MeterSample(H22 + timedelta(minutes=10), 0), MeterSample(H22 + timedelta(minutes=40), 900)]
# `sigec prices import`'s 2025+ CCEE layout: 2026-01-28 17:00 in Sao Paulo = 20:00 UTC
CSV_H20 = ("MES_REFERENCIA;SUBMERCADO;PERIODO_COMERCIALIZACAO;DIA;HORA;PLD_HORA\n"
           "202601;SUDESTE;1;28;17;300.00\n")


def price(hour: datetime, centavos: int, submarket: Submarket = Submarket.SE) -> HourPrice:
    return HourPrice(submarket, hour, centavos, False, "ccee")


@pytest.fixture
async def prices(world: World) -> PgGridPrices:
    """The real price store, empty (the module's database is its own)."""
    async with world.pool.acquire() as conn:
        await conn.execute("DELETE FROM v2g_grid_prices")
    return PgGridPrices(world.pool)


def settlement(pool: DbPool) -> Settlement:
    """A node's Settlement on the stored prices (as V2GWiring builds it)."""
    grid = GridPriceService(PgGridPrices(pool), "ccee", PeakWindow())
    return Settlement(PgSessionStore(pool), PgCompensations(pool), grid,
                      PgLedgerRepository(pool), POLICY, default_submarket=Submarket.SE,
                      clock=lambda: datetime.now(UTC), alerts=PgAlerts(pool))


def repricing(pool: DbPool, batch: int = 100) -> Repricing:
    """A node's repricing job (as V2GWiring builds it)."""
    return Repricing(PgRepricingQueries(pool, Submarket.SE), PgSessionStore(pool),
                     settlement(pool), PgV2GQueries(pool), batch=batch)


async def completed(world: World, samples: list[MeterSample]) -> V2GState:
    """A discharge that ran and completed with `samples` stored."""
    state = world.session()
    await world.store.create(state)
    active, _ = decide(state, ProfileAnswered(True), H20)
    assert await world.store.save(state.status, active)
    exported = (samples[-1].export_wh or 0) - (samples[0].export_wh or 0)
    done = msgspec.structs.replace(active, status=Status.COMPLETED, stop_reason="user",
                                   ended_at=samples[-1].at, exported_wh=exported)
    assert await world.store.save(Status.ACTIVE, done, samples)
    return done


async def failed_on_gap(world: World, samples: list[MeterSample]) -> V2GState:
    state = await completed(world, samples)
    assert (await settlement(world.pool).settle(state)).status == "failed"
    return state


async def facts(world: World, sid: UUID) -> dict[str, Any]:
    """What the money and its trail look like for one session."""
    async with world.pool.acquire() as conn:
        row = await conn.fetchrow("SELECT * FROM v2g_compensations WHERE session_id = $1", sid)
        events = await conn.fetch(
            "SELECT subject, payload FROM event_outbox WHERE payload->>'sessionId' = $1"
            " OR payload->>'source' = $2", str(sid), f"v2g_compensation/{sid}")
        entries = await conn.fetchval(
            "SELECT count(*) FROM journal_entries WHERE source_type = 'v2g_compensation'"
            " AND source_id = $1", str(sid))
        alerts = await conn.fetch("SELECT resolved_at FROM alerts WHERE dedupe_key = $1",
                                  f"v2g.price_gap:{sid}")
    subjects: dict[str, int] = {}
    for e in events:
        subjects[e["subject"]] = subjects.get(e["subject"], 0) + 1
    return {"status": row["status"], "amounts": (row["gross_amount_centavos"],
            row["margin_centavos"], row["net_amount_centavos"]),
            "missing": row["missing_hours"], "events": subjects, "entries": entries,
            "alerts": ["resolved" if a["resolved_at"] else "open" for a in alerts],
            "payloads": [json.loads(e["payload"]) if isinstance(e["payload"], str)
                         else e["payload"] for e in events]}


async def test_imported_prices_settle_the_gap_once(world: World, prices: PgGridPrices,
                                                   migrated_pg_dsn: str, tmp_path: Path) -> None:
    await prices.upsert([price(H21, 52_000)])  # 20:00 UTC has no price yet
    state = await failed_on_gap(world, ACROSS_20_21)
    job = repricing(world.pool)
    assert (await job.run_once()).settled == 0  # nothing to settle with: left alone
    before = await facts(world, state.session_id)
    assert before["status"] == "failed" and before["missing"] == [H20.isoformat()]
    assert before["alerts"] == ["open"] and before["events"] == {"v2g.compensation.failed": 1}

    csv = tmp_path / "pld_horario_2026.csv"
    csv.write_text(CSV_H20)
    done = await asyncio.to_thread(sigec_cli, ["prices", "import", str(csv), "--source",
                                               "ccee"], migrated_pg_dsn, tmp_path)
    assert done.returncode == 0 and "1 inserted" in done.stdout, (done.stdout, done.stderr)
    for _ in range(2):  # the second round finds nothing left to do
        await job.run_once()
    after = await facts(world, state.session_id)
    assert after["status"] == "paid" and after["amounts"] == (GROSS, MARGIN, NET)
    assert after["missing"] == [] and after["entries"] == 1 and after["alerts"] == ["resolved"]
    assert after["events"] == {"v2g.compensation.failed": 1, "v2g.compensation.calculated": 1,
                               "v2g.compensation.paid": 1, "wallet.credited": 1}
    calculated = next(p for p in after["payloads"] if p.get("repriced"))
    assert (calculated["grossCentavos"], calculated["netCentavos"]) == (GROSS, NET)
    assert await world.wallet() == NET


async def test_two_nodes_repricing_at_once_pay_each_session_once(
        world: World, prices: PgGridPrices, migrated_pg_dsn: str) -> None:
    await prices.upsert([price(H21, 52_000)])
    states = [await failed_on_gap(world, ACROSS_20_21) for _ in range(4)]
    await prices.upsert([price(H20, 30_000)])
    other = await create_pool(migrated_pg_dsn, min_size=1, max_size=6)  # the second node
    try:
        node_a, node_b = repricing(world.pool), repricing(other)
        await asyncio.gather(node_a.run_once(), node_b.run_once(),
                             node_b.settle_now(states[0].session_id))
    finally:
        await other.close()
    for state in states:
        after = await facts(world, state.session_id)
        assert after["status"] == "paid" and after["entries"] == 1, after
        assert after["events"] == {"v2g.compensation.failed": 1,
                                   "v2g.compensation.calculated": 1,
                                   "v2g.compensation.paid": 1, "wallet.credited": 1}, after
    assert await world.wallet() == 4 * NET


async def test_a_session_still_missing_prices_stays_failed_without_a_new_alert(
        world: World, prices: PgGridPrices) -> None:
    async with world.pool.acquire() as conn:  # the station's location says SE explicitly
        await conn.execute(
            "WITH l AS (INSERT INTO locations (name, latitude, longitude, submarket)"
            " VALUES ('Posto', -23.5, -46.6, 'SE') RETURNING id)"
            " UPDATE charge_points SET location_id = (SELECT id FROM l) WHERE id = $1",
            world.station)
    await prices.upsert([price(H21, 52_000)])
    priced = await failed_on_gap(world, ACROSS_20_21)
    waiting = await failed_on_gap(world, IN_22)
    # 20:00 gets its SE price; 22:00 a price in another submarket only
    await prices.upsert([price(H20, 30_000), price(H22, 40_000, Submarket.NE)])
    job = repricing(world.pool)
    rounds = [await job.run_once() for _ in range(3)]  # the waiting one is not even looked at
    assert rounds == [RepriceCounts(settled=1), RepriceCounts(), RepriceCounts()]
    assert (await facts(world, priced.session_id))["status"] == "paid"
    still = await facts(world, waiting.session_id)
    assert still["status"] == "failed" and still["missing"] == [H22.isoformat()]
    assert still["alerts"] == ["open"] and still["events"] == {"v2g.compensation.failed": 1}
    outcome = await job.settle_now(waiting.session_id)  # the admin's try changes nothing
    assert (outcome.status, outcome.missing_hours) == ("failed", (H22,))
    assert await facts(world, waiting.session_id) == still
    async with world.pool.acquire() as conn:
        opened = await conn.fetchval(
            "SELECT count(*) FROM event_outbox WHERE subject = 'alert.opened'"
            " AND payload->>'chargePointId' = $1", world.station)
    assert opened == 2  # one per failed session, none from the rounds or the retry
    assert await world.wallet() == NET


async def test_a_round_settles_at_most_its_batch(world: World, prices: PgGridPrices) -> None:
    await prices.upsert([price(H21, 52_000)])
    for _ in range(3):
        await failed_on_gap(world, ACROSS_20_21)
    await prices.upsert([price(H20, 30_000)])
    job = repricing(world.pool, batch=2)
    assert [(await job.run_once()).settled for _ in range(3)] == [2, 1, 0]
    assert await world.wallet() == 3 * NET


@pytest.fixture
async def admin_api(world: World) -> AsyncIterator[Any]:
    api = await start_api()
    api.ctx.extras[EXTRAS_KEY] = repricing(world.pool)
    yield api
    await api.close()


async def test_admin_settles_one_session_now(world: World, prices: PgGridPrices,
                                             admin_api: Any) -> None:
    api = admin_api
    await prices.upsert([price(H21, 52_000)])
    state = await failed_on_gap(world, ACROSS_20_21)
    url = f"/api/v1/admin/v2g/sessions/{state.session_id}/settle"
    await api.json("POST", url, "operator", status=403)
    await api.json("POST", "/api/v1/admin/v2g/sessions/not-a-uuid/settle", "admin", status=404)
    await api.json("POST", f"/api/v1/admin/v2g/sessions/{world.session().session_id}/settle",
                   "admin", status=404)
    gap = await api.json("POST", url, "admin", status=409)
    assert (gap["reason"], gap["missingHours"]) == ("price_gap", [H20.isoformat()]), gap
    await prices.upsert([price(H20, 30_000)])
    body = await api.json("POST", url, "admin")
    assert (body["id"], body["status"]) == (str(state.session_id), "completed")
    assert body["compensation"] == {"grossCentavos": GROSS, "marginCentavos": MARGIN,
                                    "netCentavos": NET, "status": "paid"}
    again = await api.json("POST", url, "admin")  # settled already: the same answer, no money
    assert again["compensation"] == body["compensation"]
    assert (await facts(world, state.session_id))["entries"] == 1
    assert await world.wallet() == NET
    live = world.session()  # a session still running is not settled
    await world.store.create(live)
    running = await api.json("POST", f"/api/v1/admin/v2g/sessions/{live.session_id}/settle",
                             "admin", status=409)
    assert running["sessionStatus"] == "starting", running
    audited = [(r.entry.action, r.entry.actor_id, r.entry.target_id, r.entry.details["result"])
               for r in reversed(await api.audit.recent(target_type="v2g_session"))]
    admin = api.ids["admin"]
    assert audited == [("v2g.settle", admin, str(state.session_id), "failed"),
                       ("v2g.settle", admin, str(state.session_id), "paid"),
                       ("v2g.settle", admin, str(state.session_id), "paid"),
                       ("v2g.settle", admin, str(live.session_id), "not_completed")]
