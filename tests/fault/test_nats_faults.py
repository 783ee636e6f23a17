"""NATS down (every connection reset, or a blackhole) under a real node while stations keep
charging: events are still acknowledged, the outbox grows, then drains exactly once."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from sigec_actors.embedded import EmbeddedNats
from tests.fault.conftest import MakeProxy, report, start_node, via
from tests.fault.stations import (
    TxStation,
    check_outbox_exactly_once,
    check_stored_once,
    eventually,
    outbox_state,
)

pytestmark = [pytest.mark.pg, pytest.mark.nats, pytest.mark.slow]


@pytest.mark.parametrize(("mode", "down_s"), [
    pytest.param("reset", 4.0, id="reset-ci"),
    # the other mode, short, runs with the soak (make soak): one mode per scenario in make test
    pytest.param("blackhole", 4.0, id="blackhole-short", marks=pytest.mark.soak),
    pytest.param("reset", 60.0, id="reset-soak", marks=[pytest.mark.soak,
                                                         pytest.mark.timeout(600)]),
])
async def test_nats_down_outbox_grows_then_drains_exactly_once(
        tmp_path: Path, fresh_pg_dsn: str, nats_server: EmbeddedNats, make_proxy: MakeProxy,
        mode: str, down_s: float) -> None:
    assert nats_server.url is not None
    proxy = await make_proxy(nats_server.url)
    node = await start_node(tmp_path, fresh_pg_dsn, nats_server.url,
                            bus_url=via(nats_server.url, proxy.port))
    stop = asyncio.Event()
    stations = [TxStation(sid, node.server.ocpp, f"RFID-{sid}", stop) for sid in node.ids]
    runs = asyncio.gather(*(s.run() for s in stations))
    try:
        await asyncio.sleep(1.0)
        proxy.set_mode(mode)
        acked_before = sum(len(s.acked) for s in stations)
        await asyncio.sleep(down_s)
        unsent, total = await outbox_state(fresh_pg_dsn)
        acked_during = sum(len(s.acked) for s in stations) - acked_before
        proxy.set_mode("pass")
        await asyncio.sleep(1.0)
        stop.set()
        await asyncio.wait_for(runs, 120)
        acked = await check_stored_once(fresh_pg_dsn, stations)
        published = await check_outbox_exactly_once(fresh_pg_dsn, nats_server.url)
        await eventually(node.ready)
    finally:
        stop.set()
        node.server.kill()
    report(f"nats-{mode}", injected=proxy.report(), down_s=down_s,
           acked_while_down=acked_during, outbox_unsent_at_end_of_outage=unsent,
           outbox_rows_then=total, acked_events=acked, outbox_published=published)
    assert acked_during > 0, "stations were not served while NATS was down"
    assert unsent > 0, "the outbox did not grow while NATS was down"
