"""Batcher (group commit, coalesced reads) and StationStore over a batch-capable fake."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import UTC, datetime

import pytest

from sigec_actors.batching import Batcher
from sigec_actors.charge_point.store import (
    BootWrite,
    OnlineWrite,
    StationSnapshot,
    StationStore,
    StationWrite,
    StatusWrite,
)
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.domain.records import BootInfo, ConnectorStatus, NewStation, OutboxMessage
from sigec_actors.testing.repos import InMemoryStations

T0 = datetime(2025, 1, 1, tzinfo=UTC)


class Recorder:
    """A bulk function that records its calls and can be held open."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.gate: asyncio.Event | None = None

    async def __call__(self, items: Sequence[str]) -> list[str | BaseException]:
        self.calls.append(list(items))
        if self.gate is not None:
            await self.gate.wait()
        return [ValueError(i) if i.startswith("bad") else i.upper() for i in items]


async def test_concurrent_submits_become_one_bulk_call() -> None:
    bulk = Recorder()
    batcher: Batcher[str, str] = Batcher(bulk, max_inflight=1)
    results = await asyncio.gather(*(batcher.submit(f"k{i}") for i in range(50)))
    assert results == [f"K{i}" for i in range(50)]
    assert bulk.calls == [[f"k{i}" for i in range(50)]]


async def test_items_queue_while_a_call_runs_and_form_the_next_batch() -> None:
    bulk = Recorder()
    bulk.gate = asyncio.Event()
    batcher: Batcher[str, str] = Batcher(bulk, max_inflight=1, max_batch=3)
    first = batcher.submit("a")
    await asyncio.sleep(0)
    rest = [batcher.submit(x) for x in "bcdef"]
    await asyncio.sleep(0)
    assert batcher.pending == 5
    bulk.gate.set()
    assert await asyncio.gather(first, *rest) == list("ABCDEF")
    assert bulk.calls == [["a"], ["b", "c", "d"], ["e", "f"]]


async def test_per_item_errors_and_whole_call_errors_reach_their_callers() -> None:
    bulk = Recorder()
    batcher: Batcher[str, str] = Batcher(bulk)
    ok, bad = batcher.submit("ok"), batcher.submit("bad1")
    assert await ok == "OK"
    with pytest.raises(ValueError, match="bad1"):
        await bad

    async def broken(items: Sequence[str]) -> list[str | BaseException]:
        raise OSError("db down")

    failing: Batcher[str, str] = Batcher(broken)
    futures = [failing.submit("x"), failing.submit("y")]
    for fut in futures:
        with pytest.raises(OSError, match="db down"):
            await fut


async def test_same_key_never_shares_or_overlaps_a_call_and_keeps_its_order() -> None:
    bulk = Recorder()
    bulk.gate = asyncio.Event()
    batcher: Batcher[str, str] = Batcher(bulk, max_inflight=2, key=lambda s: s[0])
    futures = [batcher.submit(x) for x in ("a1", "b1", "a2", "a3", "c1")]
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    # first call took a1 b1 c1; the second may not take a2 while a1 is in flight
    assert bulk.calls == [["a1", "b1", "c1"]]
    bulk.gate.set()
    await asyncio.gather(*futures)
    assert bulk.calls == [["a1", "b1", "c1"], ["a2"], ["a3"]]


async def test_a_caller_that_gave_up_before_its_turn_is_skipped() -> None:
    bulk = Recorder()
    bulk.gate = asyncio.Event()
    batcher: Batcher[str, str] = Batcher(bulk, max_inflight=1)
    first = batcher.submit("a")
    await asyncio.sleep(0)
    gone = batcher.submit("b")
    gone.cancel()
    last = batcher.submit("c")
    bulk.gate.set()
    assert await asyncio.gather(first, last) == ["A", "C"]
    assert bulk.calls == [["a"], ["c"]]
    await batcher.drain()


class BatchStations(InMemoryStations):
    """InMemoryStations plus the bulk methods, counting bulk calls."""

    def __init__(self) -> None:
        super().__init__(now=lambda: T0)
        self.bulk_writes: list[int] = []
        self.bulk_reads: list[int] = []

    async def snapshots(self, station_ids: Sequence[str]) -> dict[str, StationSnapshot]:
        self.bulk_reads.append(len(station_ids))
        found = {}
        for sid in station_ids:
            station = await self.get(sid)
            if station is not None:
                found[sid] = StationSnapshot(station, tuple(await self.connectors(sid)))
        return found

    async def write_batch(self, writes: Sequence[StationWrite]) -> list[Exception | None]:
        self.bulk_writes.append(len(writes))
        results: list[Exception | None] = []
        for w in writes:
            if await self.get(w.station_id) is None:
                results.append(UnknownStation(w.station_id))
                continue
            match w:
                case BootWrite():
                    await self.update_boot_info(w.station_id, w.boot, w.at, w.events)
                case OnlineWrite():
                    await self.set_online(w.station_id, w.online, w.at, w.events)
                case StatusWrite():
                    await self.set_connector_status(w.station_id, w.evse_id, w.connector_id,
                                                    w.status, now=w.at, events=w.events)
            results.append(None)
        return results


async def test_station_store_group_commits_and_reports_unknown_stations() -> None:
    stations = BatchStations()
    for i in range(20):
        await stations.register(NewStation(id=f"CP-{i}", security_profile=0))
    store = StationStore(stations)
    assert store.batched
    event = OutboxMessage("ocpp.device.boot", {"n": 1})
    writes = [store.write(BootWrite(f"CP-{i}", BootInfo("V", "M"), T0, (event,)))
              for i in range(20)]
    writes.append(store.write(StatusWrite("CP-0", 1, 1, ConnectorStatus.AVAILABLE, T0)))
    writes.append(store.write(OnlineWrite("NOPE", True, T0)))
    results = await asyncio.gather(*writes, return_exceptions=True)
    assert results[:-1] == [None] * 21
    assert isinstance(results[-1], UnknownStation)
    assert stations.bulk_writes == [21, 1]  # CP-0's status waits for its boot
    assert len(stations.outbox.messages) == 20
    snaps = await asyncio.gather(*(store.snapshot(f"CP-{i}") for i in range(20)),
                                 store.snapshot("NOPE"))
    assert stations.bulk_reads == [21]
    assert snaps[-1] is None
    first = snaps[0]
    assert first is not None and first.station.vendor == "V"
    assert [c.status for c in first.connectors] == [ConnectorStatus.AVAILABLE]


async def test_write_soon_queues_and_aclose_commits_it() -> None:
    stations = BatchStations()
    await stations.register(NewStation(id="CP-1", security_profile=0))
    store = StationStore(stations)
    await store.write_soon(OnlineWrite("CP-1", True, T0))
    await store.write_soon(OnlineWrite("NOPE", True, T0))  # logged, not raised
    await store.aclose()
    station = await stations.get("CP-1")
    assert station is not None and station.online


async def test_without_bulk_methods_the_repository_is_called_directly() -> None:
    stations = InMemoryStations(now=lambda: T0)
    await stations.register(NewStation(id="CP-1", security_profile=0))
    store = StationStore(stations)
    assert not store.batched
    await store.write(BootWrite("CP-1", BootInfo("V", "M"), T0))
    snap = await store.snapshot("CP-1")
    assert snap is not None and snap.station.online
    assert await store.snapshot("NOPE") is None
