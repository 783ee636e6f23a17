"""Remote commands by name with a JSON body (GraphQL sendCommand, gRPC SendCommand).

Each name decodes its body into the REST route's body type (same validation, same 422s) and
builds the OCPP request with api.commands.Commands; the answer is the station's response.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated, Any

import msgspec

from api.commands import Commands
from api.errors import InvalidInput
from api.routing import decode_body
from api.schemas import commands as b
from sigec_actors.ocpp.generated import v201


class CommandName(StrEnum):
    """The station commands the GraphQL and gRPC surfaces send (REST has a route for each)."""

    RESET = "reset"
    TRIGGER = "trigger"
    UNLOCK = "unlock"
    AVAILABILITY = "availability"
    REMOTE_STOP = "remoteStop"


class TriggerCommand(b.TriggerBody, frozen=True, kw_only=True):
    """TriggerMessage: REST takes `message` from the path; here it is in the body."""

    message: v201.MessageTriggerEnum


class UnlockCommand(b.UnlockBody, frozen=True, kw_only=True):
    """UnlockConnector: REST takes the connector from the path; here it is in the body."""

    connector_id: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1


def trigger_request(commands: Commands, message: v201.MessageTriggerEnum,
                    body: b.TriggerBody) -> v201.TriggerMessageRequest:
    if body.connector_id is not None and body.evse_id is None:
        raise InvalidInput("connectorId", "needs evseId")
    return commands.trigger(message, body)


def availability_request(commands: Commands,
                         body: b.AvailabilityBody) -> v201.ChangeAvailabilityRequest:
    if body.connector_id is not None and body.evse_id is None:
        raise InvalidInput("connectorId", "needs evseId")
    return commands.availability(body.operational_status, body.evse_id, body.connector_id)


def _unlock(commands: Commands, raw: bytes) -> msgspec.Struct:
    body = decode_body(UnlockCommand, raw, required=False)
    return commands.unlock(body.connector_id, body)


def _trigger(commands: Commands, raw: bytes) -> msgspec.Struct:
    body = decode_body(TriggerCommand, raw)
    return trigger_request(commands, body.message, body)


BUILDERS: dict[CommandName, Callable[[Commands, bytes], msgspec.Struct]] = {
    CommandName.RESET: lambda c, raw: c.reset(decode_body(b.ResetBody, raw, required=False)),
    CommandName.TRIGGER: _trigger,
    CommandName.UNLOCK: _unlock,
    CommandName.AVAILABILITY: lambda c, raw: availability_request(
        c, decode_body(b.AvailabilityBody, raw)),
    CommandName.REMOTE_STOP: lambda c, raw: c.remote_stop(decode_body(b.RemoteStopBody, raw)),
}


async def send_named(commands: Commands, station_id: str, name: CommandName,
                     body: bytes) -> dict[str, Any]:
    """Send command `name` with JSON `body` to a registered station; its answer as JSON data.

    The caller must be inside api.commands.acting_for (commands are audited for the caller).
    """
    answer = await commands.send(station_id, BUILDERS[name](commands, body))
    out: dict[str, Any] = msgspec.to_builtins(answer)
    return out
