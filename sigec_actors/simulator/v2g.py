"""The simulator's bidirectional mode: a car battery per EVSE driven by charging profiles."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import msgspec
import websockets

from sigec_actors.simulator.battery import Battery
from sigec_actors.simulator.profiles import Profiles, profile_of


class V2GOptions(msgspec.Struct, frozen=True, kw_only=True):
    """`--v2g` knobs: the car's start SoC (%) and capacity, the metering period (simulated
    seconds) and how much faster than the wall clock simulated time runs."""

    soc: float = 80.0
    battery_wh: int = 60_000
    meter_interval_s: float = 10.0
    time_scale: float = 1.0


class SimClock:
    """Simulated UTC time: `scale` simulated seconds per wall second, from the real now."""

    def __init__(self, scale: float = 1.0) -> None:
        if scale <= 0:
            raise ValueError("time scale must be positive")
        self.scale = scale
        self._origin = datetime.now(UTC)
        self._wall = time.monotonic()

    def __call__(self) -> datetime:
        return self._origin + timedelta(seconds=(time.monotonic() - self._wall) * self.scale)


class _Tx(Protocol):
    transaction_id: str
    evse_id: int
    meter_wh: int


class V2GMode:
    """Mixin for SimulatedStation: batteries, the profile table and the periodic meter values.

    Without `--v2g` (`v2g is None`) every hook keeps the plain simulator's behaviour.
    """

    v2g: V2GOptions | None
    transactions: dict[int, Any]
    _now: Callable[[], datetime]

    def _v2g_setup(self, options: V2GOptions | None) -> None:
        self.v2g = options
        self.batteries: dict[int, Battery] = {}
        self.profiles = Profiles()
        self._stamps: dict[int, datetime] = {}

    # provided by the station class this mode is mixed into (SimulatedStation)
    _spawn: Callable[[Coroutine[Any, Any, Any]], None]
    _tx_event: Callable[..., Awaitable[Any]]

    def _running(self) -> Mapping[int, str]:
        return {evse: tx.transaction_id for evse, tx in self.transactions.items()}

    def _advance(self, evse_id: int) -> Battery:
        """Run the EVSE's battery up to now at its command, then command what the profiles
        say now (so a profile change takes effect from the moment it is made)."""
        now = self._now()
        battery = self.batteries[evse_id]
        elapsed = now - self._stamps.get(evse_id, now)
        battery = battery.step(max(elapsed // timedelta(milliseconds=1), 0))
        tx = self.transactions.get(evse_id)
        power = self._commanded_w(evse_id, tx.transaction_id, now) if tx else 0
        self.batteries[evse_id] = battery = battery.command(power)
        self._stamps[evse_id] = now
        return battery

    def _commanded_w(self, evse_id: int, transaction_id: str, now: datetime) -> int:
        """The power a running transaction is told to flow at: what the profiles say (none:
        idle); the charging simulator's cars charge on their own (simulator.charging)."""
        return self.profiles.power_w(evse_id, transaction_id, now)

    def _advance_all(self) -> None:
        for evse_id in list(self.batteries):
            self._advance(evse_id)

    def _sampled(self, tx: _Tx, context: str) -> list[dict[str, Any]]:
        """The sampled values of one TransactionEvent's meter value."""
        if self.v2g is None:
            return [{"value": tx.meter_wh, "measurand": "Energy.Active.Import.Register",
                     "unit_of_measure": {"unit": "Wh"}}]
        b = self._advance(tx.evse_id)
        values: list[tuple[float, str, str]] = [
            (b.soc, "SoC", "Percent"),
            (tx.meter_wh + b.import_wh, "Energy.Active.Import.Register", "Wh"),
            (b.export_wh, "Energy.Active.Export.Register", "Wh"),
            (b.export_power_w, "Power.Active.Export", "W"),
            (b.import_power_w, "Power.Active.Import", "W")]
        return [{"value": value, "measurand": measurand, "context": context,
                 "unit_of_measure": {"unit": unit}} for value, measurand, unit in values]

    def _v2g_started(self, tx: _Tx) -> None:
        """A transaction started: a car at the configured SoC, the EVSE's registers kept."""
        if self.v2g is None:
            return
        old = self.batteries.get(tx.evse_id)
        battery = Battery.at_soc(self.v2g.battery_wh, self.v2g.soc)
        if old is not None:
            battery = msgspec.structs.replace(battery, import_mj=old.import_mj,
                                              export_mj=old.export_mj)
        self.batteries[tx.evse_id] = battery
        self._stamps[tx.evse_id] = self._now()
        self._spawn(self._meter_loop(tx))

    def _v2g_ended(self, tx: _Tx) -> None:
        if self.v2g is not None:
            self.profiles = self.profiles.end_transaction(tx.transaction_id)
            self._advance(tx.evse_id)

    async def _meter_loop(self, tx: _Tx) -> None:
        """TransactionEvent Updated every metering period while the transaction runs."""
        assert self.v2g is not None
        period = self.v2g.meter_interval_s / self.v2g.time_scale
        try:
            while True:
                await asyncio.sleep(period)
                if self.transactions.get(tx.evse_id) is not tx:
                    return
                await self._tx_event(tx, "Updated", "MeterValuePeriodic")
        except websockets.ConnectionClosed:
            return

    def _profile_set(self, evse_id: int, raw: Mapping[str, Any]) -> str:
        """SetChargingProfile: install it (see Profiles.install); an accepted change is
        reported at once with a TransactionEvent Updated (ChargingRateChanged)."""
        if self.v2g is None:
            return "Accepted"
        self._advance_all()
        self.profiles, status = self.profiles.install(
            profile_of(evse_id, raw, self._now()), self._running())
        if status == "Accepted":
            self._rate_changed()
        return status

    def _profile_clear(self, profile_id: int | None,
                       criteria: Mapping[str, Any] | None) -> str:
        """ClearChargingProfile: Accepted when a profile went, Unknown when none matched."""
        if self.v2g is None:
            return "Accepted"
        self._advance_all()
        self.profiles, status = self.profiles.clear(profile_id, criteria)
        if status == "Accepted":
            self._rate_changed()
        return status

    def _rate_changed(self) -> None:
        for evse_id, tx in list(self.transactions.items()):
            before = self.batteries[evse_id].power_w
            if self._advance(evse_id).power_w != before:
                self._spawn(self._report_rate(tx))

    async def _report_rate(self, tx: _Tx) -> None:
        await asyncio.sleep(0)  # let the CALLRESULT go out first
        if self.transactions.get(tx.evse_id) is tx:
            await self._tx_event(tx, "Updated", "ChargingRateChanged")
