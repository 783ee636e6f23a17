"""The simulator's diagnostics and monitoring: a GetLog it accepted is uploaded to the CSMS's
URL with its LogStatusNotifications; monitors kept in memory (Set/ClearVariableMonitoring,
GetMonitoringReport), SetMonitoringBase/Level and CustomerInformation answered."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import aiohttp
from ocpp.routing import after, on
from ocpp.v201 import call, call_result
from ocpp.v201.enums import Action

F = TypeVar("F", bound=Callable[..., Any])
UPLOAD_TIMEOUT_S = 30.0


def _route(action: Action) -> Callable[[F], F]:
    """The library's `on` route decorator, typed."""
    return cast(Callable[[F], F], on(action))


def _after(action: Action) -> Callable[[F], F]:
    """The library's `after` hook decorator, typed (runs once the answer is sent)."""
    return cast(Callable[[F], F], after(action))


def _now() -> str:
    return datetime.now(UTC).isoformat()


class DiagnosticsMode:
    """Mixin for SimulatedStation; the host provides `call`, `config` and `_gate`."""

    config: Any
    call: Any  # the host's ChargePoint.call and CommandHandlers._gate (annotations only)
    _gate: Any
    _monitors: dict[int, dict[str, Any]] | None = None

    @property
    def monitors(self) -> dict[int, dict[str, Any]]:
        """Monitor id -> the SetMonitoringData it was set with."""
        if self._monitors is None:
            self._monitors = {}
        return self._monitors

    def log_text(self) -> bytes:
        return f"{_now()} {self.config.station_id} simulated diagnostics log\n".encode()

    @_after(Action.get_log)
    async def upload_log(self, log: dict[str, Any], request_id: int, **kw: Any) -> None:
        """After an accepted GetLog: Uploading, the PUT to remoteLocation, Uploaded (or
        UploadFailure)."""
        if "GetLog" in self.config.refuse or "GetLog" in self.config.silent:
            return
        await self.call(call.LogStatusNotification(status="Uploading", request_id=request_id))
        status = "Uploaded"
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(
                    total=UPLOAD_TIMEOUT_S)) as http, http.put(
                    log["remote_location"], data=self.log_text()) as resp:
                if resp.status >= 300:
                    status = "UploadFailure"
        except (aiohttp.ClientError, TimeoutError):
            status = "UploadFailure"
        await self.call(call.LogStatusNotification(status=status, request_id=request_id))

    @_route(Action.set_variable_monitoring)
    async def on_set_variable_monitoring(self, set_monitoring_data: list[dict[str, Any]],
                                         **kw: Any) -> Any:
        ok = await self._gate("SetVariableMonitoring")
        results = []
        for item in set_monitoring_data:
            monitor_id = item.get("id") or max(self.monitors, default=0) + 1
            if ok:
                self.monitors[monitor_id] = item
            results.append({"id": monitor_id, "status": "Accepted" if ok else "Rejected",
                            "type": item["type"], "severity": item["severity"],
                            "component": item["component"], "variable": item["variable"]})
        return call_result.SetVariableMonitoring(set_monitoring_result=results)

    @_route(Action.clear_variable_monitoring)
    async def on_clear_variable_monitoring(self, id: list[int], **kw: Any) -> Any:
        ok = await self._gate("ClearVariableMonitoring")
        results = []
        for monitor_id in id:
            found = monitor_id in self.monitors
            if ok and found:
                del self.monitors[monitor_id]
            status = "Rejected" if not ok else "Accepted" if found else "NotFound"
            results.append({"id": monitor_id, "status": status})
        return call_result.ClearVariableMonitoring(clear_monitoring_result=results)

    @_route(Action.set_monitoring_base)
    async def on_set_monitoring_base(self, monitoring_base: str, **kw: Any) -> Any:
        ok = await self._gate("SetMonitoringBase")
        return call_result.SetMonitoringBase(status="Accepted" if ok else "Rejected")

    @_route(Action.set_monitoring_level)
    async def on_set_monitoring_level(self, severity: int, **kw: Any) -> Any:
        ok = await self._gate("SetMonitoringLevel")
        return call_result.SetMonitoringLevel(status="Accepted" if ok else "Rejected")

    @_route(Action.get_monitoring_report)
    async def on_get_monitoring_report(self, request_id: int, **kw: Any) -> Any:
        ok = await self._gate("GetMonitoringReport")
        return call_result.GetMonitoringReport(status="Accepted" if ok else "Rejected")

    @_after(Action.get_monitoring_report)
    async def send_monitoring_report(self, request_id: int, **kw: Any) -> None:
        if "GetMonitoringReport" in self.config.refuse | self.config.silent:
            return
        monitor = [{"component": m["component"], "variable": m["variable"],
                    "variable_monitoring": [{"id": i, "transaction": bool(m.get("transaction")),
                                             "value": m["value"], "type": m["type"],
                                             "severity": m["severity"]}]}
                   for i, m in sorted(self.monitors.items())]
        await self.call(call.NotifyMonitoringReport(
            request_id=request_id, seq_no=0, generated_at=_now(), monitor=monitor or None))

    @_route(Action.customer_information)
    async def on_customer_information(self, request_id: int, report: bool, clear: bool,
                                      **kw: Any) -> Any:
        ok = await self._gate("CustomerInformation")
        return call_result.CustomerInformation(status="Accepted" if ok else "Rejected")

    @_after(Action.customer_information)
    async def send_customer_information(self, request_id: int, report: bool,
                                        **kw: Any) -> None:
        if not report or "CustomerInformation" in self.config.refuse | self.config.silent:
            return
        await self.call(call.NotifyCustomerInformation(
            data="no customer data kept by the simulator", seq_no=0, generated_at=_now(),
            request_id=request_id))
