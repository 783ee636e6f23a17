"""A session keeps the tariff of its start while operators reprice and delete tariffs (PostgreSQL)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from sigec_actors.ports import DbPool
from sigec_actors.tariffs.model import TariffRow
from sigec_actors.tariffs.store import PgTariffAdmin
from tests.transactions.builders import T0, E, event, session
from tests.transactions.conftest import new_station, pg_world

pytestmark = pytest.mark.pg
MIN = timedelta(minutes=1)


async def _short(pool: DbPool, station: str, tx: str, start_min: int, kwh: int) -> int:
    """Cost of a 20-minute session of `kwh` started `start_min` after T0 (a fresh service)."""
    w = pg_world(pool)
    at = T0 + start_min * MIN
    await w.service.handle_event(station, event(E.STARTED, 0, at, tx=tx, wh=1000,
                                                state="Charging"), T0)
    await w.service.handle_event(station, event(E.ENDED, 1, at + 20 * MIN, tx=tx,
                                                wh=1000 + kwh * 1000, reason="Local"), T0)
    row = await w.store.find(station, tx)
    assert row is not None
    return row.cost_centavos


async def test_session_keeps_its_start_tariff_across_patch_and_delete(pool: DbPool) -> None:
    station = await new_station(pool)
    admin = PgTariffAdmin(pool)
    first = await admin.create(TariffRow(id=uuid.uuid4(), name="A", charge_point_id=station,
                                         price_per_kwh_centavos=180, session_fee_centavos=200,
                                         valid_from=T0 - 60 * MIN))
    events = session("tx-1", token=None, kwh=10, minutes=30, updates=3)
    w = pg_world(pool)
    for e in events[:2]:  # Started at T0 and an Updated: priced with A
        await w.service.handle_event(station, e, T0)
    successor = await admin.update(first.id, {"price_per_kwh_centavos": 300}, T0 + 10 * MIN)
    assert successor.replaces_id == first.id and successor.valid_from == T0 + 10 * MIN
    restarted = pg_world(pool)  # no cached tariff: what the database says decides
    for e in events[2:]:
        await restarted.service.handle_event(station, e, T0)
    tx = await restarted.store.find(station, "tx-1")
    assert tx is not None and tx.tariff_id == first.id
    assert tx.cost_centavos == 10 * 180 + 200  # A's prices, though it ended mid-session
    assert await _short(pool, station, "tx-2", 20, 5) == 5 * 300 + 200  # B's
    assert await admin.delete(successor.id, T0 + 45 * MIN) is not None  # kept: it priced tx-2
    assert await _short(pool, station, "tx-3", 50, 5) == 5 * 150 + 100  # the configured default
    again = pg_world(pool)  # tx-2 repriced by a late duplicate still costs B's prices
    await again.service.handle_event(station, event(E.ENDED, 1, T0 + 40 * MIN, tx="tx-2",
                                                    wh=6000, reason="Local"), T0)
    tx2 = await again.store.find(station, "tx-2")
    assert tx2 is not None and tx2.cost_centavos == 5 * 300 + 200
