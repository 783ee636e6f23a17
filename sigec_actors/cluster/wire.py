"""Cross-node command wire format (msgspec JSON): requests, replies and typed command errors."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import msgspec

from sigec_actors.charge_point.errors import (
    CommandError,
    CommandRejectedByState,
    CommandTimeout,
    InvalidResponse,
    StationBusy,
    StationCallError,
    StationOffline,
)
from sigec_actors.domain.records import Caller
from sigec_actors.ocpp.actions import ActionSpec
from sigec_actors.ocpp.generated.v201 import ACTIONS

COMMANDS: Mapping[type[msgspec.Struct], ActionSpec] = MappingProxyType(
    {spec.request: spec for spec in ACTIONS.values() if spec.csms_may_call})
"""CSMS -> station requests by type: the only payloads the router carries."""


class RemoteCommandFailed(CommandError):
    """The node holding the station failed the command for a reason that is not a command error.

    That is a bug or an outage on the other node; `reason` is its message (logged there).
    """

    def __init__(self, station_id: str, action: str, node: str, reason: str) -> None:
        self.node = node
        self.reason = reason
        super().__init__(station_id, action, f"{action} to {station_id} failed on {node}: {reason}")


class Command(msgspec.Struct, frozen=True, tag="cmd"):
    """Send `payload` (the JSON of the action's request) to the station; sent by node `origin`
    for `caller` (the holder refuses a command without one and audits it under the caller)."""

    action: str
    payload: msgspec.Raw
    timeout_s: float | None
    origin: str
    caller: Caller | None = None


class Takeover(msgspec.Struct, frozen=True, tag="takeover"):
    """`node` now holds the station: any other holder lets it go (published before subscribing)."""

    node: str


class Locate(msgspec.Struct, frozen=True, tag="locate"):
    """Which node holds the station? Answered with `Here`."""


Inbound = Command | Takeover | Locate


class Done(msgspec.Struct, frozen=True, tag="ok"):
    """The station's response: the JSON of the action's response Struct."""

    payload: msgspec.Raw
    node: str


class Failed(msgspec.Struct, frozen=True, tag="err", omit_defaults=True):
    """A command error, with the fields of its typed error so the caller can raise it again."""

    kind: str
    message: str
    node: str
    timeout_s: float | None = None
    queue_size: int | None = None
    boot_status: str | None = None
    code: str | None = None
    description: str | None = None
    details: dict[str, Any] | None = None


class Here(msgspec.Struct, frozen=True, tag="here"):
    node: str


Outbound = Done | Failed | Here

_ENCODER = msgspec.json.Encoder()
_INBOUND: msgspec.json.Decoder[Inbound] = msgspec.json.Decoder(Inbound)
_OUTBOUND: msgspec.json.Decoder[Outbound] = msgspec.json.Decoder(Outbound)


def encode(message: Inbound | Outbound) -> bytes:
    return _ENCODER.encode(message)


def encode_payload(payload: msgspec.Struct) -> bytes:
    """JSON of an OCPP request or response Struct (its own camelCase field names)."""
    return _ENCODER.encode(payload)


def decode_inbound(data: bytes) -> Inbound:
    """Raises msgspec.DecodeError/ValidationError on a malformed message."""
    return _INBOUND.decode(data)


def decode_outbound(data: bytes) -> Outbound:
    return _OUTBOUND.decode(data)


def spec_of(request: msgspec.Struct) -> ActionSpec:
    """The action of a CSMS -> station request; TypeError for anything else."""
    spec = COMMANDS.get(type(request))
    if spec is None:
        raise TypeError(f"{type(request).__name__} is not a CSMS -> station OCPP request")
    return spec


def command(request: msgspec.Struct, timeout_s: float | None, origin: str,
            caller: Caller) -> Command:
    spec = spec_of(request)
    return Command(spec.name, msgspec.Raw(encode_payload(request)), timeout_s, origin, caller)


def request_of(message: Command) -> msgspec.Struct:
    """Decode the request of a Command; raises KeyError for an unknown or inbound-only action."""
    spec = ACTIONS[message.action]
    if not spec.csms_may_call:
        raise KeyError(message.action)
    result: msgspec.Struct = spec.request_decoder.decode(message.payload)
    return result


def response_of(action: str, reply: Done) -> msgspec.Struct:
    result: msgspec.Struct = ACTIONS[action].response_decoder.decode(reply.payload)
    return result


def failed(error: CommandError, node: str) -> Failed:
    """The wire form of a typed command error (the inverse of `raise_failed`)."""
    base = Failed(kind=type(error).__name__, message=str(error), node=node)
    match error:
        case CommandTimeout():
            return msgspec.structs.replace(base, timeout_s=error.timeout_s)
        case StationBusy():
            return msgspec.structs.replace(base, queue_size=error.queue_size)
        case CommandRejectedByState():
            return msgspec.structs.replace(base, boot_status=error.boot_status)
        case StationCallError():
            return msgspec.structs.replace(base, code=error.code, description=error.description,
                                           details=error.details or None)
        case _:
            return base


def error_of(reply: Failed, station_id: str, action: str) -> CommandError:
    """The typed error a remote node raised, rebuilt for the local caller."""
    match reply.kind:
        case "StationOffline":
            return StationOffline(station_id, action)
        case "CommandTimeout":
            return CommandTimeout(station_id, action, reply.timeout_s or 0.0)
        case "StationBusy":
            return StationBusy(station_id, action, reply.queue_size or 0)
        case "CommandRejectedByState":
            return CommandRejectedByState(station_id, action, reply.boot_status or "")
        case "StationCallError" | "InvalidResponse":
            kind = InvalidResponse if reply.kind == "InvalidResponse" else StationCallError
            return kind(station_id, action, reply.code or "", reply.description or "",
                        reply.details)
        case _:
            return RemoteCommandFailed(station_id, action, reply.node, reply.message)
