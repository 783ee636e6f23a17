"""CPU starvation (goal F5) on a real node: two busy-loop processes, one per core of the build
machine, compete with the node while stations charge and a station sends Heartbeats. Every
TransactionEvent and Heartbeat is answered within the stations' 5 s CALL timeout (none retried),
and everything acknowledged is stored, billed and published once."""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from sigec_actors.embedded import EmbeddedNats
from tests.fault.conftest import report, start_node
from tests.fault.stations import (
    CALL_TIMEOUT_S,
    TxStation,
    check_outbox_exactly_once,
    check_stored_once,
)

pytestmark = [pytest.mark.pg, pytest.mark.nats, pytest.mark.slow]
BURNERS = 2
BURN = "import time\nend = time.monotonic() + {s}\nwhile time.monotonic() < end: pass\n"


async def _heartbeats(station: TxStation, until: asyncio.Event) -> list[float]:
    """Heartbeat round trips of `station` every 0.2 s until `until` is set."""
    waits: list[float] = []
    while not until.is_set():
        sent = time.monotonic()
        await station.call("Heartbeat", {})
        waits.append(time.monotonic() - sent)
        await asyncio.sleep(0.2)
    return waits


@pytest.mark.parametrize("burn_s", [pytest.param(5.0, id="ci"),
                                    pytest.param(60.0, id="soak", marks=pytest.mark.soak)])
async def test_cpu_starvation_keeps_every_call_answered(
        tmp_path: Path, fresh_pg_dsn: str, nats_server: EmbeddedNats, burn_s: float) -> None:
    assert nats_server.url is not None
    node = await start_node(tmp_path, fresh_pg_dsn, nats_server.url, stations=5)
    stop, burnt = asyncio.Event(), asyncio.Event()
    stations = [TxStation(sid, node.server.ocpp, f"RFID-{sid}", stop) for sid in node.ids]
    beating, charging = stations[0], stations[1:]
    runs = asyncio.gather(*(s.run() for s in charging))
    burners: list[asyncio.subprocess.Process] = []
    try:
        beats = asyncio.create_task(_heartbeats(beating, burnt))
        await asyncio.sleep(1.0)
        acked_before = sum(len(s.acked) for s in charging)
        burners = [await asyncio.create_subprocess_exec(sys.executable, "-c",
                                                        BURN.format(s=burn_s))
                   for _ in range(BURNERS)]  # each stops by itself after burn_s
        await asyncio.wait_for(asyncio.gather(*(b.wait() for b in burners)), burn_s + 30)
        acked_during = sum(len(s.acked) for s in charging) - acked_before
        burnt.set()
        waits = await beats
        stop.set()
        await asyncio.wait_for(runs, 120)
        acked = await check_stored_once(fresh_pg_dsn, charging)
        published = await check_outbox_exactly_once(fresh_pg_dsn, nats_server.url)
    finally:
        stop.set()
        for burner in burners:
            if burner.returncode is None:
                burner.kill()
        node.server.kill()
    report("cpu-starvation", burners=BURNERS, burn_s=burn_s, acked_while_burning=acked_during,
           heartbeats=len(waits), worst_heartbeat_s=round(max(waits, default=0.0), 3),
           acked_events=acked, outbox_published=published,
           retries=sum(s.retries for s in stations))
    assert acked_during > 0, "no TransactionEvent was answered while the CPU was taken"
    assert sum(s.retries for s in stations) == 0, f"a CALL waited over {CALL_TIMEOUT_S} s"
