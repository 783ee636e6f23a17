"""What stations report about the car (NotifyEVChargingNeeds) refining the V2G capability."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

import structlog

from sigec_actors.ocpp.generated.v201 import ChargingNeeds

log = structlog.get_logger("v2g")


class SocStore(Protocol):
    async def report_soc(self, station_id: str, evse_id: int, soc: int, at: datetime) -> None:
        """Keep the car's reported SoC on the EVSE's capability (queries.PgV2GQueries)."""
        ...


def reported_soc(needs: ChargingNeeds) -> int | None:
    """The car's SoC in 2.0.1 charging needs: DC `stateOfCharge` (AC parameters carry none)."""
    dc = needs.dc_charging_parameters
    return None if dc is None else dc.state_of_charge


class EvSocReports:
    """The charge points' EvReports port: a reported SoC is stored on its own task, so the
    station's actor only pays for a lookup and a task (a failed write is logged, not retried:
    the next report or SoC meter value brings a fresher one)."""

    def __init__(self, store: SocStore, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock
        self._tasks: set[asyncio.Task[Any]] = set()

    def ev_charging_needs(self, station_id: str, evse_id: int, needs: ChargingNeeds) -> None:
        soc = reported_soc(needs)
        if soc is None:
            return
        coro = self._store.report_soc(station_id, evse_id, soc, self._clock())
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    async def drain(self) -> None:
        """Wait for the writes under way (tests, node stop)."""
        await asyncio.gather(*tuple(self._tasks), return_exceptions=True)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("v2g.soc_report_failed", error=repr(task.exception()))
