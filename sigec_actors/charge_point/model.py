"""The ChargePoint's state as data: boot and connector state machines as tables, policy, queue."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

import msgspec

from sigec_actors.domain.records import BootInfo, Connector, ConnectorStatus, Station
from sigec_actors.errors import SigecError
from sigec_actors.ocpp.actions import ActionSpec
from sigec_actors.ocpp.generated.v201 import ACTIONS, MeterValue


class BootStatus(StrEnum):
    """Registration state of the station on this CSMS (OCPP B01-B03, plus Unknown: not booted)."""

    UNKNOWN = "Unknown"
    PENDING = "Pending"
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"


_ANSWERS = frozenset({BootStatus.PENDING, BootStatus.ACCEPTED, BootStatus.REJECTED})
BOOT_TRANSITIONS: Final[Mapping[BootStatus, frozenset[BootStatus]]] = MappingProxyType({
    # A BootNotification may be answered with any registration status, whatever came before;
    # nothing leads back to Unknown (that is only the state before the first boot).
    BootStatus.UNKNOWN: _ANSWERS,
    BootStatus.PENDING: _ANSWERS,
    BootStatus.ACCEPTED: _ANSWERS,
    BootStatus.REJECTED: _ANSWERS,
})

STATION_MAY_SEND: Final[Mapping[BootStatus, frozenset[str] | None]] = MappingProxyType({
    # B02/B03: until Accepted a station sends only BootNotification; while Pending it also
    # reports what a GetBaseReport/GetReport asked for. None = everything.
    BootStatus.UNKNOWN: frozenset({"BootNotification"}),
    BootStatus.PENDING: frozenset({"BootNotification", "NotifyReport"}),
    BootStatus.ACCEPTED: None,
    BootStatus.REJECTED: frozenset({"BootNotification"}),
})

CSMS_MAY_SEND: Final[Mapping[BootStatus, frozenset[str] | None]] = MappingProxyType({
    # B02.FR: while Pending the CSMS may configure and query the station, nothing else;
    # while Rejected (or before any boot) it initiates nothing.
    BootStatus.UNKNOWN: frozenset(),
    BootStatus.PENDING: frozenset({"GetVariables", "SetVariables", "GetBaseReport", "GetReport",
                                   "TriggerMessage"}),
    BootStatus.ACCEPTED: None,
    BootStatus.REJECTED: frozenset(),
})

_ALL = frozenset(ConnectorStatus)
_NOT_RESERVED = _ALL - {ConnectorStatus.RESERVED}
CONNECTOR_TRANSITIONS: Final[Mapping[ConnectorStatus | None, frozenset[ConnectorStatus]]] = (
    MappingProxyType({
        None: _ALL,  # first report of a connector
        ConnectorStatus.AVAILABLE: _ALL,
        # A connector is reserved only while free (H01): never straight from these.
        ConnectorStatus.OCCUPIED: _NOT_RESERVED,
        ConnectorStatus.UNAVAILABLE: _NOT_RESERVED,
        ConnectorStatus.FAULTED: _NOT_RESERVED,
        ConnectorStatus.RESERVED: _ALL,
    })
)


class IllegalTransition(SigecError):
    """A state machine was asked for a transition its table does not have."""

    def __init__(self, machine: str, source: str | None, target: str) -> None:
        self.machine = machine
        self.source = source
        self.target = target
        super().__init__(f"{machine}: no transition {source} -> {target}")


def boot_transition(source: BootStatus, target: BootStatus) -> BootStatus:
    """`target` if the boot table allows it; raises IllegalTransition."""
    if target not in BOOT_TRANSITIONS[source]:
        raise IllegalTransition("boot", source.value, target.value)
    return target


def connector_transition(source: ConnectorStatus | None,
                         target: ConnectorStatus) -> ConnectorStatus:
    """`target` if the connector table allows it; raises IllegalTransition."""
    if target not in CONNECTOR_TRANSITIONS[source]:
        raise IllegalTransition("connector", source.value if source else None, target.value)
    return target


def station_may_send(boot: BootStatus, action: str) -> bool:
    """True when the station may send CALL `action` in registration state `boot`."""
    allowed = STATION_MAY_SEND[boot]
    return allowed is None or action in allowed


def csms_may_send(boot: BootStatus, action: str) -> bool:
    """True when the CSMS may send CALL `action` to a station in registration state `boot`."""
    allowed = CSMS_MAY_SEND[boot]
    return allowed is None or action in allowed


COMMANDS: Final[Mapping[type[msgspec.Struct], ActionSpec]] = MappingProxyType(
    {spec.request: spec for spec in ACTIONS.values() if spec.csms_may_call}
)
"""Request Struct -> action, for every CALL the CSMS may send to a station."""


class Policy(msgspec.Struct, frozen=True, kw_only=True):
    """Configuration the pure core decides with (from the `[ocpp]` settings)."""

    heartbeat_interval_s: int = 300
    pending_interval_s: int = 60
    rejected_interval_s: int = 600
    call_timeout_s: float = 30.0
    command_queue_size: int = 16
    auto_register: bool = False
    max_variables: int = 200


class OutCall(msgspec.Struct, frozen=True):
    """One CSMS -> station CALL, queued or in flight."""

    message_id: str
    action: str
    request: msgspec.Struct
    timeout_s: float


class Outbound(msgspec.Struct, frozen=True):
    """At most one CALL in flight per connection; the rest wait in order (bounded)."""

    in_flight: OutCall | None = None
    queue: tuple[OutCall, ...] = ()


NO_OUTBOUND: Final = Outbound()
ConnectorKey = tuple[int, int]


class ChargePointState(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the actor knows about its station; rebuilt from storage on (re)start."""

    station_id: str
    policy: Policy = Policy()
    registered: bool = False
    admin_status: str = "Operative"
    boot: BootStatus = BootStatus.UNKNOWN
    boot_info: BootInfo | None = None
    session: int | None = None
    last_seen: datetime | None = None
    connectors: Mapping[ConnectorKey, ConnectorStatus] = msgspec.field(default_factory=dict)
    outbound: Outbound = NO_OUTBOUND
    variables: Mapping[str, str] = msgspec.field(default_factory=dict)
    meter: Mapping[int, MeterValue] = msgspec.field(default_factory=dict)
    ev_charging_needs: Mapping[int, dict[str, Any]] = msgspec.field(default_factory=dict)
    reservations: Mapping[int, str] = msgspec.field(default_factory=dict)
    firmware_status: str | None = None
    log_status: str | None = None


def rebuild(station_id: str, policy: Policy, station: Station | None,
            connectors: list[Connector]) -> ChargePointState:
    """The state after a (re)start: a station booted and not retired is still Accepted.

    Only Accepted boots are persisted (`last_boot_at`), so a stored boot means the station
    was accepted; a reconnecting station does not boot again (OCPP §5.3) and must not notice
    a restarted actor.
    """
    if station is None:
        return ChargePointState(station_id=station_id, policy=policy)
    booted = station.last_boot_at is not None and station.admin_status != "Retired"
    info = (BootInfo(station.vendor, station.model, station.serial_number,
                     station.firmware_version, reason=station.boot_reason)
            if booted and station.vendor and station.model else None)
    return ChargePointState(
        station_id=station_id, policy=policy, registered=True,
        admin_status=station.admin_status,
        boot=BootStatus.ACCEPTED if booted else BootStatus.UNKNOWN, boot_info=info,
        last_seen=station.last_seen,
        connectors={(c.evse_id, c.connector_id): c.status for c in connectors},
    )


def boot_decision(state: ChargePointState) -> BootStatus:
    """Registration policy: registered -> Accepted (Retired -> Rejected); unknown identities
    (admitted by `auto_register`, demos only) -> Pending until an operator registers them."""
    if not state.registered:
        return BootStatus.PENDING if state.policy.auto_register else BootStatus.REJECTED
    if state.admin_status == "Retired":
        return BootStatus.REJECTED
    return BootStatus.ACCEPTED


def boot_interval(state: ChargePointState, status: BootStatus) -> int:
    """The `interval` returned with `status`: heartbeat when Accepted, retry otherwise."""
    if status is BootStatus.ACCEPTED:
        return state.policy.heartbeat_interval_s
    if status is BootStatus.PENDING:
        return state.policy.pending_interval_s
    return state.policy.rejected_interval_s
