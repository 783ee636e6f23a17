"""The simulated station's answers to every CSMS command (with delay / refuse / silent knobs)."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from ocpp.routing import on
from ocpp.v201 import call_result
from ocpp.v201.enums import Action

from sigec_actors.simulator.firmware import FirmwareOptions
from sigec_actors.simulator.v2g import V2GOptions

F = TypeVar("F", bound=Callable[..., Any])


def _on(action: Action) -> Callable[[F], F]:
    """The library's `on` route decorator, typed."""
    return cast(Callable[[F], F], on(action))


@dataclass
class SimConfig:
    """Identity and behaviour of one simulated station."""

    station_id: str
    vendor: str = "SIGEC"
    model: str = "Sim-1"
    serial_number: str = "SIM-0001"
    firmware_version: str = "1.0.0"
    evses: int = 1
    delay_s: float = 0.0
    """Wait this long before answering any CSMS command."""
    refuse: frozenset[str] = frozenset()
    """Actions answered with their negative status (Rejected, UnlockFailed, ...)."""
    silent: frozenset[str] = frozenset()
    """Actions never answered (to exercise CSMS timeouts)."""
    v2g: V2GOptions | None = None
    firmware: FirmwareOptions | None = None
    """UpdateFirmware playback (delays, an injected failure, the reboot); see simulator.firmware."""
    """Bidirectional mode (`--v2g`): a car battery per EVSE driven by charging profiles."""
    variables: dict[str, str] = field(default_factory=lambda: {
        "OCPPCommCtrlr/HeartbeatInterval": "300",
        "SecurityCtrlr/BasicAuthPassword": "",
        "DeviceDataCtrlr/ItemsPerMessage": "10",
    })


@dataclass
class SimStats:
    """What the simulator saw; `max_in_flight` > 1 means the CSMS broke one-CALL-at-a-time."""

    commands: Counter[str] = field(default_factory=Counter)
    in_flight: int = 0
    max_in_flight: int = 0
    answered: int = 0
    open_calls: set[str] = field(default_factory=set)


def _status(ok: bool, accepted: str = "Accepted", refused: str = "Rejected") -> str:
    return accepted if ok else refused


class CommandHandlers:
    """Mixin for SimulatedStation: one handler per CSMS -> station command of the CSMS."""

    config: SimConfig
    stats: SimStats
    costs: list[tuple[str, float]]
    """(transactionId, totalCost) of every CostUpdated received."""

    def _ongoing(self, transaction_id: str) -> bool:
        """Whether a transaction with this id runs (SimulatedStation knows)."""
        return False

    async def _gate(self, action: str) -> bool:
        """Count, apply the knobs; True when the command is to be accepted."""
        self.stats.commands[action] += 1
        if action in self.config.silent:
            await asyncio.Event().wait()  # never answers; cancelled when the station closes
        if self.config.delay_s:
            await asyncio.sleep(self.config.delay_s)
        return action not in self.config.refuse

    def _after(self, action: str, **kwargs: Any) -> None:
        """Hook for follow-up messages (SimulatedStation schedules them)."""

    def _profile_set(self, evse_id: int, raw: dict[str, Any]) -> str:
        """Hook: the status of an accepted SetChargingProfile (V2GMode decides)."""
        return "Accepted"

    def _profile_clear(self, profile_id: int | None, criteria: dict[str, Any] | None) -> str:
        """Hook: the status of an accepted ClearChargingProfile (V2GMode decides)."""
        return "Accepted"

    @_on(Action.request_start_transaction)
    async def on_request_start(self, **kw: Any) -> Any:
        ok = await self._gate("RequestStartTransaction")
        if ok:
            self._after("RequestStartTransaction", **kw)
        return call_result.RequestStartTransaction(status=_status(ok))

    @_on(Action.request_stop_transaction)
    async def on_request_stop(self, **kw: Any) -> Any:
        ok = await self._gate("RequestStopTransaction")
        if ok:
            self._after("RequestStopTransaction", **kw)
        return call_result.RequestStopTransaction(status=_status(ok))

    @_on(Action.reset)
    async def on_reset(self, **kw: Any) -> Any:
        return call_result.Reset(status=_status(await self._gate("Reset")))

    @_on(Action.trigger_message)
    async def on_trigger_message(self, **kw: Any) -> Any:
        ok = await self._gate("TriggerMessage")
        if ok:
            self._after("TriggerMessage", **kw)
        return call_result.TriggerMessage(status=_status(ok))

    @_on(Action.unlock_connector)
    async def on_unlock_connector(self, **kw: Any) -> Any:
        ok = await self._gate("UnlockConnector")
        return call_result.UnlockConnector(status=_status(ok, "Unlocked", "UnlockFailed"))

    @_on(Action.change_availability)
    async def on_change_availability(self, **kw: Any) -> Any:
        return call_result.ChangeAvailability(
            status=_status(await self._gate("ChangeAvailability")))

    @_on(Action.set_charging_profile)
    async def on_set_charging_profile(self, evse_id: int, charging_profile: dict[str, Any],
                                      **kw: Any) -> Any:
        ok = await self._gate("SetChargingProfile")
        status = self._profile_set(evse_id, charging_profile) if ok else "Rejected"
        return call_result.SetChargingProfile(status=status)

    @_on(Action.clear_charging_profile)
    async def on_clear_charging_profile(self, charging_profile_id: int | None = None,
                                        charging_profile_criteria: dict[str, Any] | None = None,
                                        **kw: Any) -> Any:
        ok = await self._gate("ClearChargingProfile")
        status = (self._profile_clear(charging_profile_id, charging_profile_criteria)
                  if ok else "Unknown")
        return call_result.ClearChargingProfile(status=status)

    @_on(Action.get_charging_profiles)
    async def on_get_charging_profiles(self, **kw: Any) -> Any:
        await self._gate("GetChargingProfiles")
        return call_result.GetChargingProfiles(status="NoProfiles")

    @_on(Action.get_composite_schedule)
    async def on_get_composite_schedule(self, **kw: Any) -> Any:
        return call_result.GetCompositeSchedule(
            status=_status(await self._gate("GetCompositeSchedule")))

    @_on(Action.get_variables)
    async def on_get_variables(self, get_variable_data: list[dict[str, Any]],
                               **kw: Any) -> Any:
        ok = await self._gate("GetVariables")
        results = [self._get_variable(item, ok) for item in get_variable_data]
        return call_result.GetVariables(get_variable_result=results)

    def _get_variable(self, item: dict[str, Any], ok: bool) -> dict[str, Any]:
        key = f"{item['component']['name']}/{item['variable']['name']}"
        value = self.config.variables.get(key)
        status = "Rejected" if not ok else "Accepted" if value is not None else "UnknownVariable"
        result = {"attribute_status": status, "component": item["component"],
                  "variable": item["variable"]}
        if status == "Accepted":
            result["attribute_value"] = value
        return result

    @_on(Action.set_variables)
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]],
                               **kw: Any) -> Any:
        ok = await self._gate("SetVariables")
        results = []
        for item in set_variable_data:
            if ok:
                key = f"{item['component']['name']}/{item['variable']['name']}"
                self.config.variables[key] = item["attribute_value"]
            results.append({"attribute_status": _status(ok), "component": item["component"],
                            "variable": item["variable"]})
        return call_result.SetVariables(set_variable_result=results)

    @_on(Action.get_base_report)
    async def on_get_base_report(self, request_id: int, **kw: Any) -> Any:
        ok = await self._gate("GetBaseReport")
        if ok:
            self._after("GetBaseReport", request_id=request_id)
        return call_result.GetBaseReport(status=_status(ok))

    @_on(Action.update_firmware)
    async def on_update_firmware(self, request_id: int, firmware: dict[str, Any],
                                 **kw: Any) -> Any:
        ok = await self._gate("UpdateFirmware")
        if ok:
            self._after("UpdateFirmware", request_id=request_id, firmware=firmware)
        return call_result.UpdateFirmware(status=_status(ok))

    @_on(Action.get_log)
    async def on_get_log(self, **kw: Any) -> Any:
        ok = await self._gate("GetLog")
        return call_result.GetLog(status=_status(ok), filename="sim.log" if ok else None)

    @_on(Action.reserve_now)
    async def on_reserve_now(self, **kw: Any) -> Any:
        return call_result.ReserveNow(status=_status(await self._gate("ReserveNow")))

    @_on(Action.cancel_reservation)
    async def on_cancel_reservation(self, **kw: Any) -> Any:
        return call_result.CancelReservation(
            status=_status(await self._gate("CancelReservation")))

    @_on(Action.clear_cache)
    async def on_clear_cache(self, **kw: Any) -> Any:
        return call_result.ClearCache(status=_status(await self._gate("ClearCache")))

    @_on(Action.get_transaction_status)
    async def on_get_transaction_status(self, transaction_id: str | None = None,
                                        **kw: Any) -> Any:
        await self._gate("GetTransactionStatus")
        ongoing = self._ongoing(transaction_id or "")
        # the simulator sends every event at once: nothing is ever left queued
        return call_result.GetTransactionStatus(
            messages_in_queue=False, ongoing_indicator=ongoing if transaction_id else None)

    @_on(Action.cost_updated)
    async def on_cost_updated(self, total_cost: float, transaction_id: str, **kw: Any) -> Any:
        await self._gate("CostUpdated")
        self.costs.append((transaction_id, total_cost))
        return call_result.CostUpdated()

    @_on(Action.data_transfer)
    async def on_data_transfer(self, vendor_id: str, data: Any = None, **kw: Any) -> Any:
        ok = await self._gate("DataTransfer")
        return call_result.DataTransfer(status=_status(ok), data=data if ok else None)
