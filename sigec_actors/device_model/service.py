"""CSMS -> station device-model requests: send through a commander, store what comes back."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import msgspec

from sigec_actors.device_model import model
from sigec_actors.device_model.handlers import Send
from sigec_actors.device_model.model import RequestKind
from sigec_actors.device_model.ports import DeviceModelStore, LogRecord
from sigec_actors.errors import SigecError
from sigec_actors.ocpp.generated import v201 as m

ReportRequest = m.GetBaseReportRequest | m.GetReportRequest
_KINDS: dict[type[msgspec.Struct], RequestKind] = {
    m.GetBaseReportRequest: RequestKind.REPORT, m.GetReportRequest: RequestKind.REPORT,
    m.GetMonitoringReportRequest: RequestKind.MONITORING,
    m.CustomerInformationRequest: RequestKind.CUSTOMER}
_ATTEMPTS = 5  # requestIds come from a random-start counter: a taken one is rare


class RequestIdTaken(SigecError):
    """No free requestId after a few attempts (a bug or an exhausted counter)."""


def token_hash(token: str) -> bytes:
    """What is stored of an upload token (the token itself is only in the URL)."""
    return hashlib.sha256(token.encode()).digest()


@dataclass(frozen=True)
class DeviceModelService:
    """One caller's view: `send` delivers a request to a station (audited for that caller)."""

    store: DeviceModelStore
    send: Send
    ids: Callable[[], int]
    now: Callable[[], datetime]
    by: str | None = None

    async def numbered(self, station_id: str,
                       build: Callable[[int], msgspec.Struct]) -> tuple[int, msgspec.Struct]:
        """Record then send a request answered in parts (report, monitoring report, customer
        information); the station's answer status is kept with it."""
        for _ in range(_ATTEMPTS):
            request_id = self.ids()
            request = build(request_id)
            kind = _KINDS[type(request)]
            params = msgspec.to_builtins(request)
            params.pop("requestId", None)
            if await self.store.add_request(station_id, kind, request_id, params, self.by,
                                            self.now()):
                break
        else:
            raise RequestIdTaken(f"no free requestId for {station_id}")
        answer = await self.send(station_id, request)
        status = str(getattr(answer, "status", ""))
        await self.store.answered(station_id, kind, request_id, status)
        if status == m.GenericDeviceModelStatusEnum.EMPTY_RESULT_SET.value and (
                kind is RequestKind.MONITORING and model.names_everything(kind, params)):
            await self.store.keep_only(station_id, monitor_ids=set())  # it has none left
        return request_id, answer

    async def get_variables(self, station_id: str, items: list[m.GetVariableData]
                            ) -> m.GetVariablesResponse:
        answer = await self.send(station_id, m.GetVariablesRequest(
            get_variable_data=tuple(items)))
        assert isinstance(answer, m.GetVariablesResponse)
        await self.store.put_variables(station_id, model.got_rows(answer.get_variable_result),
                                       self.now())
        return answer

    async def set_variables(self, station_id: str, items: list[m.SetVariableData]
                            ) -> m.SetVariablesResponse:
        answer = await self.send(station_id, m.SetVariablesRequest(
            set_variable_data=tuple(items)))
        assert isinstance(answer, m.SetVariablesResponse)
        rows = model.set_rows(items, answer.set_variable_result)
        await self.store.put_variables(station_id, rows, self.now())
        return answer

    async def set_monitoring(self, station_id: str, items: list[m.SetMonitoringData]
                             ) -> m.SetVariableMonitoringResponse:
        answer = await self.send(station_id, m.SetVariableMonitoringRequest(
            set_monitoring_data=tuple(items)))
        assert isinstance(answer, m.SetVariableMonitoringResponse)
        rows = model.set_monitor_rows(answer.set_monitoring_result, items)
        await self.store.put_monitors(station_id, rows, self.now())
        return answer

    async def clear_monitoring(self, station_id: str, ids: list[int]
                               ) -> m.ClearVariableMonitoringResponse:
        answer = await self.send(station_id, m.ClearVariableMonitoringRequest(id=tuple(ids)))
        assert isinstance(answer, m.ClearVariableMonitoringResponse)
        gone = [r.id for r in answer.clear_monitoring_result
                if r.status is not m.ClearMonitoringStatusEnum.REJECTED]
        await self.store.drop_monitors(station_id, gone)
        return answer

    async def request_log(self, station_id: str, log_type: m.LogEnum, base_url: str,
                          ttl_s: int, window: tuple[datetime | None, datetime | None],
                          **retries: Any) -> tuple[int, m.GetLogResponse]:
        """GetLog with a one-time upload URL under `base_url`; the token's hash is stored."""
        now = self.now()
        for _ in range(_ATTEMPTS):
            request_id, token = self.ids(), secrets.token_urlsafe(32)
            record = LogRecord(station_id=station_id, request_id=request_id,
                               log_type=log_type.value, requested_at=now,
                               expires_at=now + timedelta(seconds=ttl_s))
            if await self.store.add_log(record, token_hash(token), self.by):
                break
        else:
            raise RequestIdTaken(f"no free requestId for {station_id}")
        url = f"{base_url.rstrip('/')}/api/v1/uploads/logs/{token}"
        answer = await self.send(station_id, m.GetLogRequest(
            log=m.LogParameters(remote_location=url, oldest_timestamp=window[0],
                                latest_timestamp=window[1]),
            log_type=log_type, request_id=request_id, **retries))
        assert isinstance(answer, m.GetLogResponse)
        await self.store.log_answered(station_id, request_id, answer.status.value,
                                      answer.filename)
        return request_id, answer
