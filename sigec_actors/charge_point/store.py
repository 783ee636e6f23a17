"""Station storage as the ChargePoint actors use it: batched reads and group-committed writes."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Protocol, assert_never, runtime_checkable

import msgspec
import structlog

from sigec_actors.batching import Batcher
from sigec_actors.domain.records import BootInfo, Connector, ConnectorStatus, OutboxMessage, Station
from sigec_actors.ports import StationRepository

_log = structlog.get_logger("sigec.charge_point")


class BootWrite(msgspec.Struct, frozen=True):
    """Store the BootNotification data; the station is online and seen at `at`."""

    station_id: str
    boot: BootInfo
    at: datetime
    events: tuple[OutboxMessage, ...] = ()


class OnlineWrite(msgspec.Struct, frozen=True):
    """The station's link opened (`online`) or closed at `at`."""

    station_id: str
    online: bool
    at: datetime
    events: tuple[OutboxMessage, ...] = ()


class StatusWrite(msgspec.Struct, frozen=True):
    """A connector's new status."""

    station_id: str
    evse_id: int
    connector_id: int
    status: ConnectorStatus
    at: datetime
    events: tuple[OutboxMessage, ...] = ()


StationWrite = BootWrite | OnlineWrite | StatusWrite


class StationSnapshot(msgspec.Struct, frozen=True):
    """What an actor rebuilds its state from: the station row and its connectors."""

    station: Station
    connectors: tuple[Connector, ...] = ()


@runtime_checkable
class StationBatches(Protocol):
    """Bulk station storage (the PostgreSQL repository has it; plain fakes do not)."""

    async def snapshots(self, station_ids: Sequence[str]) -> dict[str, StationSnapshot]:
        """The snapshot of each station that exists (absent ids are missing from the dict)."""
        ...

    async def write_batch(self, writes: Sequence[StationWrite]) -> list[Exception | None]:
        """Commit the writes with their outbox events; per write None (committed) or why not.

        At most one write per station. A write answered None is committed, with its events, in
        the same DB transaction as its change; raising means nothing of the batch committed.
        """
        ...


class StationStore:
    """One per node: many actors' station reads and writes become few DB round trips.

    With a batch-capable repository, concurrent `write`s are group-committed (one DB
    transaction for all of them, then every caller is released, so each reply still follows
    its commit) and concurrent `snapshot`s are one query. At most `max_inflight` bulk calls of
    each kind run at once: under load callers queue here (back-pressure) instead of timing
    out on the connection pool, and batches grow. Any other repository is called directly,
    one call per write, as before.
    """

    __slots__ = ("_background", "_batches", "_reads", "_stations", "_timeout_s", "_writes")

    def __init__(self, stations: StationRepository, *, timeout_s: float = 5.0,
                 max_batch: int = 1000, max_inflight: int = 2) -> None:
        self._stations = stations
        self._timeout_s = timeout_s
        self._background: set[asyncio.Future[None]] = set()
        self._batches = stations if isinstance(stations, StationBatches) else None
        self._reads: Batcher[str, StationSnapshot | None] = Batcher(
            self._read_bulk, max_batch=max_batch, max_inflight=max_inflight)
        self._writes: Batcher[StationWrite, None] = Batcher(
            self._write_bulk, max_batch=max_batch, max_inflight=max_inflight,
            key=_station_of)

    @property
    def batched(self) -> bool:
        """True when reads and writes are coalesced (a batch-capable repository)."""
        return self._batches is not None

    async def snapshot(self, station_id: str) -> StationSnapshot | None:
        """The station and its connectors; None when it is not registered."""
        if self._batches is None:
            station = await self._stations.get(station_id)
            if station is None:
                return None
            connectors = await self._stations.connectors(station_id)
            return StationSnapshot(station, tuple(connectors))
        return await self._reads.submit(station_id)

    async def write(self, op: StationWrite) -> None:
        """Commit `op` (with its events); raises UnknownStation or the storage error."""
        if self._batches is None:
            await _write_one(self._stations, op)
            return
        await self._writes.submit(op)

    async def write_soon(self, op: StationWrite) -> None:
        """Like `write`, but with batching only queue it: failures are logged, not raised.

        For writes nobody waits on (online/offline); they still commit in order with the
        station's other writes. Without batching it is awaited like `write`.
        """
        if self._batches is None:
            try:
                await _write_one(self._stations, op)
            except Exception as exc:  # best effort by contract: logged, the caller goes on
                _log_failed(op, exc)
            return
        fut = self._writes.submit(op)
        self._background.add(fut)
        fut.add_done_callback(self._forget)

    async def aclose(self) -> None:
        """Wait for every queued write (call before the pool closes)."""
        await self._writes.drain()
        await self._reads.drain()

    def _forget(self, fut: asyncio.Future[None]) -> None:
        self._background.discard(fut)
        if not fut.cancelled() and fut.exception() is not None:
            _log.warning("station_store.write_failed", error=repr(fut.exception()))

    async def _read_bulk(self, ids: Sequence[str]) -> list[StationSnapshot | None]:
        assert self._batches is not None
        async with asyncio.timeout(self._timeout_s):
            found = await self._batches.snapshots(sorted(set(ids)))
        return [found.get(i) for i in ids]

    async def _write_bulk(self, ops: Sequence[StationWrite]) -> list[Exception | None]:
        assert self._batches is not None
        async with asyncio.timeout(self._timeout_s):
            return await self._batches.write_batch(ops)


def _station_of(op: StationWrite) -> str:
    return op.station_id


def _log_failed(op: StationWrite, exc: Exception) -> None:
    _log.warning("station_store.write_failed", station_id=op.station_id,
                 write=type(op).__name__, error=repr(exc))


async def _write_one(stations: StationRepository, op: StationWrite) -> None:
    match op:
        case BootWrite():
            await stations.update_boot_info(op.station_id, op.boot, op.at, op.events)
        case OnlineWrite():
            await stations.set_online(op.station_id, op.online, op.at, op.events)
        case StatusWrite():
            await stations.set_connector_status(op.station_id, op.evse_id, op.connector_id,
                                                op.status, now=op.at, events=op.events)
        case _:
            assert_never(op)
