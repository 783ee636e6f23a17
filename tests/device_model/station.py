"""A station built on the `ocpp` package's v201 ChargePoint (an independent OCPP client) that
answers the device-model, log, monitoring and customer-information requests."""

from __future__ import annotations

import asyncio
import base64
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import websockets
from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action

REBOOT = "NetworkConfigurationPriority"  # setting it needs a reboot


def now() -> str:
    return datetime.now(UTC).isoformat()


def _key(item: dict[str, Any]) -> tuple[str, str]:
    return item["component"]["name"], item["variable"]["name"]


class Station(ChargePoint):  # type: ignore[misc]
    """Keeps what the CSMS asked (`asked[action]`) and a small device model of its own."""

    def __init__(self, station_id: str, ws: Any) -> None:
        super().__init__(station_id, ws, response_timeout=30)
        self.asked: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.variables = {("OCPPCommCtrlr", "HeartbeatInterval"): "300",
                          ("SecurityCtrlr", "Identity"): station_id,
                          ("OCPPCommCtrlr", REBOOT): "0"}
        self.monitors: dict[int, dict[str, Any]] = {}
        self.next_monitor = 100

    def _report_data(self) -> list[dict[str, Any]]:
        return [{"component": {"name": c}, "variable": {"name": v},
                 "variable_attribute": [{"type": "Actual", "value": value,
                                         "mutability": "ReadWrite"}],
                 "variable_characteristics": {"data_type": "string",
                                              "supports_monitoring": True}}
                for (c, v), value in sorted(self.variables.items())]

    @on(Action.get_base_report)  # type: ignore[misc]
    async def on_get_base_report(self, request_id: int, report_base: str, **kw: Any) -> Any:
        self.asked["GetBaseReport"].append({"request_id": request_id, "base": report_base})
        return call_result.GetBaseReport(status="Accepted")

    @after(Action.get_base_report)  # type: ignore[misc]
    async def send_report(self, request_id: int, **kw: Any) -> None:
        data = self._report_data()  # two parts: seqNo 0 (tbc) and 1
        for seq, part in enumerate((data[:1], data[1:])):
            await self.call(call.NotifyReport(
                request_id=request_id, generated_at=now(), seq_no=seq, report_data=part,
                tbc=seq == 0), suppress=False)

    @on(Action.get_report)  # type: ignore[misc]
    async def on_get_report(self, request_id: int, **kw: Any) -> Any:
        self.asked["GetReport"].append({"request_id": request_id, **kw})
        return call_result.GetReport(status="Accepted")

    @after(Action.get_report)  # type: ignore[misc]
    async def send_filtered_report(self, request_id: int, **kw: Any) -> None:
        await self.call(call.NotifyReport(request_id=request_id, generated_at=now(), seq_no=0,
                                          report_data=self._report_data()[:1]), suppress=False)

    @on(Action.get_variables)  # type: ignore[misc]
    async def on_get_variables(self, get_variable_data: list[dict[str, Any]],
                               **kw: Any) -> Any:
        results = []
        for item in get_variable_data:
            value = self.variables.get(_key(item))
            results.append({"attribute_status": "Accepted" if value is not None
                            else "UnknownVariable", "component": item["component"],
                            "variable": item["variable"],
                            **({"attribute_value": value} if value is not None else {})})
        return call_result.GetVariables(get_variable_result=results)

    @on(Action.set_variables)  # type: ignore[misc]
    async def on_set_variables(self, set_variable_data: list[dict[str, Any]],
                               **kw: Any) -> Any:
        results = []
        for item in set_variable_data:
            key = _key(item)
            status = "UnknownVariable"
            if key in self.variables:
                self.variables[key] = item["attribute_value"]
                status = "RebootRequired" if key[1] == REBOOT else "Accepted"
            results.append({"attribute_status": status, "component": item["component"],
                            "variable": item["variable"]})
        return call_result.SetVariables(set_variable_result=results)

    @on(Action.get_log)  # type: ignore[misc]
    async def on_get_log(self, log: dict[str, Any], log_type: str, request_id: int,
                         **kw: Any) -> Any:
        self.asked["GetLog"].append({"request_id": request_id, "log_type": log_type, **log})
        return call_result.GetLog(status="Accepted", filename="diagnostics.log")

    @on(Action.set_variable_monitoring)  # type: ignore[misc]
    async def on_set_monitoring(self, set_monitoring_data: list[dict[str, Any]],
                                **kw: Any) -> Any:
        results = []
        for item in set_monitoring_data:
            self.next_monitor += 1
            self.monitors[self.next_monitor] = item
            results.append({"id": self.next_monitor, "status": "Accepted",
                            "type": item["type"], "severity": item["severity"],
                            "component": item["component"], "variable": item["variable"]})
        return call_result.SetVariableMonitoring(set_monitoring_result=results)

    @on(Action.clear_variable_monitoring)  # type: ignore[misc]
    async def on_clear_monitoring(self, id: list[int], **kw: Any) -> Any:
        results = [{"id": i, "status": "Accepted" if self.monitors.pop(i, None) else "NotFound"}
                   for i in id]
        return call_result.ClearVariableMonitoring(clear_monitoring_result=results)

    @on(Action.set_monitoring_base)  # type: ignore[misc]
    async def on_set_monitoring_base(self, monitoring_base: str, **kw: Any) -> Any:
        self.asked["SetMonitoringBase"].append({"base": monitoring_base})
        return call_result.SetMonitoringBase(status="Accepted")

    @on(Action.set_monitoring_level)  # type: ignore[misc]
    async def on_set_monitoring_level(self, severity: int, **kw: Any) -> Any:
        self.asked["SetMonitoringLevel"].append({"severity": severity})
        return call_result.SetMonitoringLevel(status="Accepted")

    @on(Action.get_monitoring_report)  # type: ignore[misc]
    async def on_get_monitoring_report(self, request_id: int, **kw: Any) -> Any:
        return call_result.GetMonitoringReport(status="Accepted")

    @after(Action.get_monitoring_report)  # type: ignore[misc]
    async def send_monitoring_report(self, request_id: int, **kw: Any) -> None:
        monitor = [{"component": m["component"], "variable": m["variable"],
                    "variable_monitoring": [{"id": i, "transaction": False,
                                             "value": m["value"], "type": m["type"],
                                             "severity": m["severity"]}]}
                   for i, m in sorted(self.monitors.items())]
        await self.call(call.NotifyMonitoringReport(
            request_id=request_id, seq_no=0, generated_at=now(), monitor=monitor or None),
            suppress=False)

    @on(Action.customer_information)  # type: ignore[misc]
    async def on_customer_information(self, request_id: int, report: bool, clear: bool,
                                      **kw: Any) -> Any:
        self.asked["CustomerInformation"].append({"request_id": request_id, **kw})
        return call_result.CustomerInformation(status="Accepted")

    @after(Action.customer_information)  # type: ignore[misc]
    async def send_customer_information(self, request_id: int, **kw: Any) -> None:
        for seq, text in enumerate(("card RFID-1 used 3 times; ", "last 2026-01-02")):
            await self.call(call.NotifyCustomerInformation(
                data=text, seq_no=seq, generated_at=now(), request_id=request_id,
                tbc=seq == 0), suppress=False)

    async def boot(self) -> Any:
        return await self.call(call.BootNotification(
            charging_station={"vendor_name": "ACME", "model": "DM-1"}, reason="PowerUp"),
            suppress=False)


@asynccontextmanager
async def connected(ocpp_url: str, station_id: str, password: str) -> AsyncIterator[Station]:
    token = base64.b64encode(f"{station_id}:{password}".encode()).decode()
    ws = await websockets.connect(
        f"{ocpp_url.rstrip('/')}/{station_id}", subprotocols=[websockets.Subprotocol("ocpp2.0.1")],
        additional_headers={"Authorization": f"Basic {token}"}, compression=None)
    station = Station(station_id, ws)
    reader = asyncio.create_task(station.start())
    try:
        yield station
    finally:
        await ws.close()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
