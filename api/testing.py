"""Fakes of the live-node ports for API tests: a scripted commander, live state, an actor view."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import msgspec

from api.commands import CommandError, CommandOffline
from api.ports import LiveStatus
from sigec_actors.ocpp.generated import v201
from sigec_actors.runtime.errors import ActorNotFound
from sigec_actors.runtime.recent import RecentMessage
from sigec_actors.runtime.snapshot import ActorDetail, ActorSnapshot

Answer = Callable[[msgspec.Struct], msgspec.Struct]


def _set_variables(req: msgspec.Struct) -> msgspec.Struct:
    assert isinstance(req, v201.SetVariablesRequest)
    return v201.SetVariablesResponse(set_variable_result=tuple(
        v201.SetVariableResult(attribute_status=v201.SetVariableStatusEnum.ACCEPTED,
                               component=d.component, variable=d.variable)
        for d in req.set_variable_data))


def _get_variables(req: msgspec.Struct) -> msgspec.Struct:
    assert isinstance(req, v201.GetVariablesRequest)
    return v201.GetVariablesResponse(get_variable_result=tuple(
        v201.GetVariableResult(attribute_status=v201.GetVariableStatusEnum.ACCEPTED,
                               attribute_value="0", component=d.component, variable=d.variable)
        for d in req.get_variable_data))


def _set_monitoring(req: msgspec.Struct) -> msgspec.Struct:
    assert isinstance(req, v201.SetVariableMonitoringRequest)
    return v201.SetVariableMonitoringResponse(set_monitoring_result=tuple(
        v201.SetMonitoringResult(id=n, status=v201.SetMonitoringStatusEnum.ACCEPTED,
                                 type=d.type, severity=d.severity, component=d.component,
                                 variable=d.variable)
        for n, d in enumerate(req.set_monitoring_data, 1)))


def _clear_monitoring(req: msgspec.Struct) -> msgspec.Struct:
    assert isinstance(req, v201.ClearVariableMonitoringRequest)
    return v201.ClearVariableMonitoringResponse(clear_monitoring_result=tuple(
        v201.ClearMonitoringResult(status=v201.ClearMonitoringStatusEnum.ACCEPTED, id=i)
        for i in req.id))


DEFAULT_ANSWERS: dict[type[msgspec.Struct], Answer] = {
    v201.RequestStartTransactionRequest: lambda _: v201.RequestStartTransactionResponse(
        status=v201.RequestStartStopStatusEnum.ACCEPTED),
    v201.RequestStopTransactionRequest: lambda _: v201.RequestStopTransactionResponse(
        status=v201.RequestStartStopStatusEnum.ACCEPTED),
    v201.ResetRequest: lambda _: v201.ResetResponse(status=v201.ResetStatusEnum.ACCEPTED),
    v201.TriggerMessageRequest: lambda _: v201.TriggerMessageResponse(
        status=v201.TriggerMessageStatusEnum.ACCEPTED),
    v201.UnlockConnectorRequest: lambda _: v201.UnlockConnectorResponse(
        status=v201.UnlockStatusEnum.UNLOCKED),
    v201.ChangeAvailabilityRequest: lambda _: v201.ChangeAvailabilityResponse(
        status=v201.ChangeAvailabilityStatusEnum.ACCEPTED),
    v201.SetChargingProfileRequest: lambda _: v201.SetChargingProfileResponse(
        status=v201.ChargingProfileStatusEnum.ACCEPTED),
    v201.ClearChargingProfileRequest: lambda _: v201.ClearChargingProfileResponse(
        status=v201.ClearChargingProfileStatusEnum.ACCEPTED),
    v201.GetChargingProfilesRequest: lambda _: v201.GetChargingProfilesResponse(
        status=v201.GetChargingProfileStatusEnum.NO_PROFILES),
    v201.GetCompositeScheduleRequest: lambda _: v201.GetCompositeScheduleResponse(
        status=v201.GenericStatusEnum.REJECTED),
    v201.UpdateFirmwareRequest: lambda _: v201.UpdateFirmwareResponse(
        status=v201.UpdateFirmwareStatusEnum.ACCEPTED),
    v201.ReserveNowRequest: lambda _: v201.ReserveNowResponse(
        status=v201.ReserveNowStatusEnum.ACCEPTED),
    v201.CancelReservationRequest: lambda _: v201.CancelReservationResponse(
        status=v201.CancelReservationStatusEnum.ACCEPTED),
    v201.SetVariablesRequest: _set_variables,
    # device model and diagnostics (api.routes.device_model / diagnostics)
    v201.GetBaseReportRequest: lambda _: v201.GetBaseReportResponse(
        status=v201.GenericDeviceModelStatusEnum.ACCEPTED),
    v201.GetReportRequest: lambda _: v201.GetReportResponse(
        status=v201.GenericDeviceModelStatusEnum.ACCEPTED),
    v201.GetVariablesRequest: _get_variables,
    v201.GetLogRequest: lambda _: v201.GetLogResponse(status=v201.LogStatusEnum.ACCEPTED),
    v201.SetVariableMonitoringRequest: _set_monitoring,
    v201.ClearVariableMonitoringRequest: _clear_monitoring,
    v201.SetMonitoringBaseRequest: lambda _: v201.SetMonitoringBaseResponse(
        status=v201.GenericDeviceModelStatusEnum.ACCEPTED),
    v201.SetMonitoringLevelRequest: lambda _: v201.SetMonitoringLevelResponse(
        status=v201.GenericStatusEnum.ACCEPTED),
    v201.GetMonitoringReportRequest: lambda _: v201.GetMonitoringReportResponse(
        status=v201.GenericDeviceModelStatusEnum.ACCEPTED),
    v201.CustomerInformationRequest: lambda _: v201.CustomerInformationResponse(
        status=v201.CustomerInformationStatusEnum.ACCEPTED),
    # OCPP blocks (api.routes.ocpp_blocks / ocpp_raw)
    v201.SendLocalListRequest: lambda _: v201.SendLocalListResponse(
        status=v201.SendLocalListStatusEnum.ACCEPTED),
    v201.GetLocalListVersionRequest: lambda _: v201.GetLocalListVersionResponse(
        version_number=0),
    v201.ClearCacheRequest: lambda _: v201.ClearCacheResponse(
        status=v201.ClearCacheStatusEnum.ACCEPTED),
    v201.SetDisplayMessageRequest: lambda _: v201.SetDisplayMessageResponse(
        status=v201.DisplayMessageStatusEnum.ACCEPTED),
    v201.GetDisplayMessagesRequest: lambda _: v201.GetDisplayMessagesResponse(
        status=v201.GetDisplayMessagesStatusEnum.UNKNOWN),
    v201.ClearDisplayMessageRequest: lambda _: v201.ClearDisplayMessageResponse(
        status=v201.ClearMessageStatusEnum.ACCEPTED),
    v201.DataTransferRequest: lambda _: v201.DataTransferResponse(
        status=v201.DataTransferStatusEnum.UNKNOWN_VENDOR_ID),
    v201.SetNetworkProfileRequest: lambda _: v201.SetNetworkProfileResponse(
        status=v201.SetNetworkProfileStatusEnum.ACCEPTED),
    # certificates on a station (api.routes.certificates)
    v201.GetInstalledCertificateIdsRequest: lambda _: v201.GetInstalledCertificateIdsResponse(
        status=v201.GetInstalledCertificateStatusEnum.NOT_FOUND),
    v201.InstallCertificateRequest: lambda _: v201.InstallCertificateResponse(
        status=v201.InstallCertificateStatusEnum.ACCEPTED),
    v201.DeleteCertificateRequest: lambda _: v201.DeleteCertificateResponse(
        status=v201.DeleteCertificateStatusEnum.ACCEPTED),
}


@dataclass
class FakeCommander:
    """StationCommander fake: stations in `online` answer; others raise CommandOffline.

    `sent` records every request that reached a station; `fail_next[station]` makes the next
    send to it raise that error; `answers` overrides the answer per request type.
    """

    online: set[str] = field(default_factory=set)
    sent: list[tuple[str, msgspec.Struct]] = field(default_factory=list)
    fail_next: dict[str, CommandError] = field(default_factory=dict)
    answers: dict[type[msgspec.Struct], Answer] = field(default_factory=dict)

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        failure = self.fail_next.pop(station_id, None)
        if failure is not None:
            raise failure
        if station_id not in self.online:
            raise CommandOffline(station_id)
        self.sent.append((station_id, request))
        answer = self.answers.get(type(request)) or DEFAULT_ANSWERS[type(request)]
        return answer(request)


@dataclass
class FakeLiveStations:
    """LiveStations fake: `states[station_id]` is what the node knows live."""

    states: dict[str, LiveStatus] = field(default_factory=dict)

    async def status(self, station_id: str) -> LiveStatus | None:
        return self.states.get(station_id)


@dataclass
class FakeActors:
    """ActorsView fake over a fixed tree; records operator actions in `actions`."""

    root: ActorSnapshot
    actions: list[tuple[str, str, str | None]] = field(default_factory=list)
    recent: dict[str, list[RecentMessage]] = field(default_factory=dict)

    def snapshot(self) -> ActorSnapshot:
        return self.root

    async def tree(self) -> ActorSnapshot:
        return self.root

    async def detail(self, path: str) -> ActorDetail:
        node = _find(self.root, path)
        if node is None:
            raise ActorNotFound(path)
        return ActorDetail(
            path=node.path, kind=node.kind, state=node.state, mailbox_depth=node.mailbox_depth,
            processed=node.processed, restarts=node.restarts, uptime_s=node.uptime_s,
            last_error=node.last_error, child_keys=[c.path.rsplit("/", 1)[-1]
                                                    for c in node.children],
            recent=self.recent.get(path, []), node=self.root.path.strip("/"))

    async def restart(self, path: str, *, by: str | None = None) -> None:
        self._act("restart", path, by)

    async def stop(self, path: str, *, by: str | None = None) -> None:
        self._act("stop", path, by)

    def _act(self, action: str, path: str, by: str | None) -> None:
        if path not in self._paths(self.root):
            raise ActorNotFound(path)
        self.actions.append((action, path, by))

    def _paths(self, node: ActorSnapshot) -> set[str]:
        found = {node.path}
        for child in node.children:
            found |= self._paths(child)
        return found


def _find(node: ActorSnapshot, path: str) -> ActorSnapshot | None:
    if node.path == path:
        return node
    return next((f for c in node.children if (f := _find(c, path)) is not None), None)


def actor_tree() -> ActorSnapshot:
    """A small tree: /node with a charge-point supervisor and one charge point."""
    def leaf(path: str, kind: str, depth: int = 0) -> ActorSnapshot:
        return ActorSnapshot(path, kind, "running", depth, 3, 0, 1.5, None, [])
    cps = ActorSnapshot("/node/cps", "ChargePointSupervisor", "running", 0, 1, 0, 2.0, None,
                        [leaf("/node/cps/CP-1", "ChargePoint", 2)])
    return ActorSnapshot("/node", "NodeSupervisor", "running", 0, 1, 0, 2.0, None, [cps])
