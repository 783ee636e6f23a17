"""The command API: send a typed OCPP request to a connected station and await its response."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any, TypeVar

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
from sigec_actors.charge_point.messages import ChargePointMsg, SendCommand
from sigec_actors.charge_point.model import COMMANDS
from sigec_actors.charge_point.sessions import StationSessions
from sigec_actors.runtime import ActorDead, ActorRef, MailboxFull

__all__ = [
    "COMMANDS",
    "CommandError",
    "CommandRejectedByState",
    "CommandTimeout",
    "InvalidResponse",
    "StationBusy",
    "StationCallError",
    "StationOffline",
    "send_command",
    "send_command_as",
]

R = TypeVar("R", bound=msgspec.Struct)


def _new_id() -> str:
    return str(uuid.uuid4())


async def send_command(
    target: StationSessions | ActorRef[ChargePointMsg],
    station_id: str,
    request: msgspec.Struct,
    timeout_s: float | None = None,
    *,
    new_id: Callable[[], str] = _new_id,
) -> msgspec.Struct:
    """Send `request` (e.g. ResetRequest) and return the station's response Struct.

    One CALL is in flight per connection; later commands wait in order behind it (at most
    `ocpp.command_queue_size`). `timeout_s` (default `ocpp.call_timeout_s`) bounds the wait
    for the station's answer once the CALL is sent. Raises StationOffline (no live session;
    REST 409), CommandTimeout (504), StationBusy (queue full; 429/503), CommandRejectedByState
    (e.g. Reset while the station is Pending), StationCallError (the station answered with a
    CALLERROR, or InvalidResponse for a malformed answer), ActorDead if the station's actor
    stopped meanwhile. TypeError if `request` is not a CSMS -> station request.
    """
    spec = COMMANDS.get(type(request))
    if spec is None:
        raise TypeError(f"{type(request).__name__} is not a CSMS -> station OCPP request")
    ref = target.ref(station_id) if isinstance(target, StationSessions) else target
    if ref is None:
        raise StationOffline(station_id, spec.name)
    reply: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    try:
        ref.tell(SendCommand(new_id(), request, timeout_s, reply))
    except ActorDead as exc:
        raise StationOffline(station_id, spec.name) from exc
    except MailboxFull as exc:
        raise StationBusy(station_id, spec.name, exc.capacity) from exc
    result: msgspec.Struct = await reply
    return result


async def send_command_as(
    target: StationSessions | ActorRef[ChargePointMsg],
    station_id: str,
    request: msgspec.Struct,
    response_type: type[R],
    timeout_s: float | None = None,
) -> R:
    """`send_command` with the response type checked, for typed callers."""
    response = await send_command(target, station_id, request, timeout_s)
    if not isinstance(response, response_type):
        raise TypeError(f"expected {response_type.__name__}, got {type(response).__name__}")
    return response
