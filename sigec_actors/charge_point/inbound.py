"""Pure handling of the CALLs a station sends: boot gating, replies and what to persist."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Final

import msgspec
from msgspec.structs import replace

from sigec_actors.alerts.rules import security_event_alert
from sigec_actors.charge_point.effects import (
    CheckIdle,
    Effect,
    HandleAuthorize,
    HandleOther,
    HandleReservationStatus,
    HandleTransactionEvent,
    Log,
    MarkSeen,
    Persist,
    Publish,
    Reply,
    ReplyError,
    ReportEvNeeds,
    WriteAlert,
    WriteAudit,
    WriteBoot,
    WriteStatus,
)
from sigec_actors.charge_point.messages import Channel, StationCall
from sigec_actors.charge_point.model import (
    BootStatus,
    ChargePointState,
    IllegalTransition,
    boot_decision,
    boot_interval,
    boot_transition,
    connector_transition,
    station_may_send,
)
from sigec_actors.domain.events import OCPP_DEVICE_BOOT, OCPP_DEVICE_STATUS
from sigec_actors.domain.records import AuditEntry, BootInfo, ConnectorStatus, OutboxMessage
from sigec_actors.ocpp import value_rules
from sigec_actors.ocpp.errors import ErrorCode
from sigec_actors.ocpp.generated import v201 as m

Step = tuple[ChargePointState, list[Effect]]

CRITICAL_SECURITY_EVENTS: Final = frozenset({
    "FirmwareUpdated", "SettingSystemTime", "StartupOfTheDevice", "ResetOrReboot",
    "SecurityLogWasCleared", "ReconfigurationOfSecurityParameters", "MemoryExhaustion",
    "AttemptedReplayAttacks", "TamperDetectionActivated",
})
"""SecurityEvent types OCPP 2.0.1 Appendix 1 marks critical (they raise an operator alert)."""


def on_call(state: ChargePointState, msg: StationCall, now: datetime) -> Step:  # noqa: PLR0911
    """Answer one station CALL (or say what to do before answering it)."""
    call, channel = msg.call, msg.channel
    if not station_may_send(state.boot, call.action):
        return state, [ReplyError(channel, call.message_id, ErrorCode.SECURITY_ERROR,
                                  f"{call.action} is not allowed while {state.boot.value}")]
    refused = value_rules.refusal(call.payload)
    if refused is not None:  # storage could never hold it: answered now, never retried into
        return state, [Log("warning", "ocpp.value_refused",
                           {"action": call.action, "path": refused.path}),
                       ReplyError(channel, call.message_id, refused.code, refused.description)]
    state = replace(state, last_seen=now)
    mid = call.message_id
    match call.payload:
        case m.HeartbeatRequest():
            return state, [Reply(channel, mid, m.HeartbeatResponse(current_time=now)),
                           MarkSeen(now)]
        case m.StatusNotificationRequest() as req:
            return _status(state, channel, mid, req, now)
        case m.BootNotificationRequest() as req:
            return _boot(state, channel, mid, req, now)
        case m.TransactionEventRequest() as req:
            return state, [HandleTransactionEvent(channel, mid, req)]
        case m.AuthorizeRequest() as req:
            return state, [HandleAuthorize(channel, mid, req)]
        case _:
            return _other(state, channel, mid, call.action, call.payload, now)


def _other(state: ChargePointState, channel: Channel, mid: str, action: str,
           payload: msgspec.Struct, now: datetime) -> Step:
    match payload:
        case m.MeterValuesRequest() as req:  # stored by the registered handler (ocpp_blocks)
            meter = {**state.meter, req.evse_id: req.meter_value[-1]}
            return replace(state, meter=meter), [HandleOther(channel, mid, action, req)]
        case m.NotifyReportRequest() as req:  # stored by device_model's handler
            return _report(state, channel, mid, req)
        case m.SecurityEventNotificationRequest() as req:
            return state, _security_event(state, channel, mid, req)
        case _:
            return _status_reports(state, channel, mid, action, payload, now)


def _status_reports(state: ChargePointState, channel: Channel, mid: str, action: str,
                    payload: msgspec.Struct, now: datetime) -> Step:
    match payload:
        case m.FirmwareStatusNotificationRequest() as req:
            return (replace(state, firmware_status=req.status.value),
                    [Reply(channel, mid, m.FirmwareStatusNotificationResponse())])
        case m.LogStatusNotificationRequest() as req:  # history stored by device_model
            return (replace(state, log_status=req.status.value),
                    [HandleOther(channel, mid, action, payload)])
        case m.NotifyEVChargingNeedsRequest() as req:
            return _ev_needs(state, channel, mid, req, now)
        case m.ReservationStatusUpdateRequest() as req:
            reservations = {**state.reservations,
                            req.reservation_id: req.reservation_update_status.value}
            return (replace(state, reservations=reservations),
                    [HandleReservationStatus(channel, mid, req)])
        case _:  # a registered handler answers it, or NotSupported
            return state, [HandleOther(channel, mid, action, payload)]


def _boot(state: ChargePointState, channel: Channel, mid: str,
          req: m.BootNotificationRequest, now: datetime) -> Step:
    status = boot_transition(state.boot, boot_decision(state))
    station = req.charging_station
    modem = station.modem
    info = BootInfo(vendor=station.vendor_name, model=station.model,
                    serial_number=station.serial_number,
                    firmware_version=station.firmware_version,
                    iccid=modem.iccid if modem else None, imsi=modem.imsi if modem else None,
                    reason=req.reason.value)
    reply = Reply(channel, mid, m.BootNotificationResponse(
        current_time=now, interval=boot_interval(state, status),
        status=m.RegistrationStatusEnum(status.value)))
    event = {"stationId": state.station_id, "status": status.value, "reason": info.reason,
             "vendor": info.vendor, "model": info.model, "serialNumber": info.serial_number,
             "firmwareVersion": info.firmware_version, "at": now.isoformat()}
    if status is BootStatus.ACCEPTED:
        write = WriteBoot(info, (OutboxMessage(OCPP_DEVICE_BOOT, event),))
        return (replace(state, boot=status, boot_info=info),
                [Persist(write, reply), CheckIdle(None)])  # rebooted: lost Endeds?
    return replace(state, boot=status), [reply, Publish(OCPP_DEVICE_BOOT, event)]


def _status(state: ChargePointState, channel: Channel, mid: str,
            req: m.StatusNotificationRequest, now: datetime) -> Step:
    reply = Reply(channel, mid, m.StatusNotificationResponse())
    key = (req.evse_id, req.connector_id)
    if req.evse_id < 1 or req.connector_id < 1:  # acknowledged, never a CALLERROR
        return state, [reply, Log("warning", "ocpp.status.bad_connector",
                                  {"evse_id": req.evse_id, "connector_id": req.connector_id})]
    old = state.connectors.get(key)
    new = ConnectorStatus(req.connector_status.value)
    # free (again): a transaction we still think runs there may have lost its Ended
    idle: list[Effect] = [CheckIdle(req.evse_id)] if new is ConnectorStatus.AVAILABLE else []
    if old is new:
        return state, [reply, *idle]
    try:
        connector_transition(old, new)
    except IllegalTransition as exc:
        return state, [reply, Log("warning", "ocpp.status.illegal_transition",
                                  {"evse_id": req.evse_id, "connector_id": req.connector_id,
                                   "from": exc.source, "to": exc.target})]
    event = {"stationId": state.station_id, "evseId": req.evse_id,
             "connectorId": req.connector_id, "status": new.value,
             "previous": old.value if old else None,
             "timestamp": req.timestamp.isoformat(), "at": now.isoformat()}
    write = WriteStatus(req.evse_id, req.connector_id, new,
                        (OutboxMessage(OCPP_DEVICE_STATUS, event),))
    return (replace(state, connectors={**state.connectors, key: new}),
            [Persist(write, reply), *idle])


def variable_key(data: m.ReportData, attribute: m.VariableAttribute) -> str:
    """`Component[instance]@evse.connector/Variable[instance]:Attribute` (absent parts omitted)."""
    c, v = data.component, data.variable
    key = c.name + (f"[{c.instance}]" if c.instance else "")
    if c.evse is not None:
        key += f"@{c.evse.id}" + (f".{c.evse.connector_id}" if c.evse.connector_id else "")
    key += f"/{v.name}" + (f"[{v.instance}]" if v.instance else "")
    return key + f":{attribute.type.value if attribute.type else 'Actual'}"


def _report(state: ChargePointState, channel: Channel, mid: str,
            req: m.NotifyReportRequest) -> Step:
    variables = dict(state.variables)
    dropped = 0
    for data in req.report_data or ():
        for attribute in data.variable_attribute:
            key = variable_key(data, attribute)
            if key in variables or len(variables) < state.policy.max_variables:
                variables[key] = attribute.value or ""
            else:
                dropped += 1
    effects: list[Effect] = [HandleOther(channel, mid, "NotifyReport", req)]
    if dropped:
        effects.append(Log("warning", "ocpp.report.truncated",
                           {"dropped": dropped, "max": state.policy.max_variables}))
    return replace(state, variables=variables), effects


def _security_event(state: ChargePointState, channel: Channel, mid: str,
                    req: m.SecurityEventNotificationRequest) -> list[Effect]:
    critical = req.type in CRITICAL_SECURITY_EVENTS
    details: dict[str, Any] = {"type": req.type, "timestamp": req.timestamp.isoformat(),
                               "techInfo": req.tech_info, "critical": critical}
    entry = AuditEntry(actor_type="station", action="ocpp.security_event",
                       actor_id=state.station_id, target_type="charge_point",
                       target_id=state.station_id, details=details)
    reply = Reply(channel, mid, m.SecurityEventNotificationResponse())
    effects: list[Effect] = [Persist(WriteAudit(entry), reply, required=False)]
    if critical:  # S7: the alert is opened before the station hears back
        alert = security_event_alert(state.station_id, req.type, req.timestamp, req.tech_info)
        effects[:0] = [Log("warning", "ocpp.security_event.critical",
                           {"type": req.type, "alert": True}),
                       Persist(WriteAlert(alert), required=False)]
    return effects


def _ev_needs(state: ChargePointState, channel: Channel, mid: str,
              req: m.NotifyEVChargingNeedsRequest, now: datetime) -> Step:
    if req.evse_id < 1:
        status = m.NotifyEVChargingNeedsStatusEnum.REJECTED
        return state, [Reply(channel, mid, m.NotifyEVChargingNeedsResponse(status=status))]
    needs = {"evseId": req.evse_id, "receivedAt": now.isoformat(),
             "maxScheduleTuples": req.max_schedule_tuples,
             "chargingNeeds": msgspec.to_builtins(req.charging_needs)}
    stored = {**state.ev_charging_needs, req.evse_id: needs}
    # the answer is smart charging's (Accepted only when a schedule follows); V2G hears too
    return (replace(state, ev_charging_needs=stored),
            [HandleOther(channel, mid, "NotifyEVChargingNeeds", req),
             ReportEvNeeds(req.evse_id, req.charging_needs)])
