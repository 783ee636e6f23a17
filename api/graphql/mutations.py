"""GraphQL mutations: the REST services, acting (and audited) for the verified caller."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from uuid import UUID

import msgspec
import strawberry
from strawberry.scalars import JSON

from api.commands import acting_for, caller_of
from api.errors import NotFound
from api.graphql import types as t
from api.graphql.inputs import parse
from api.graphql.queries import context
from api.routes import reservations
from api.schemas import v2g as v2g_schemas
from api.schemas.transactions import StartBody
from api.services import remote
from api.services import transactions as txs
from api.services import v2g as sessions
from sigec_actors.domain.records import Role


@strawberry.enum
class CommandName(Enum):
    """Station commands (each has a REST route under /devices/{id}; operators only)."""

    RESET = "reset"
    TRIGGER = "trigger"
    UNLOCK = "unlock"
    AVAILABILITY = "availability"
    REMOTE_STOP = "remoteStop"


async def start_transaction(info: strawberry.Info, charge_point_id: str,
                            evse_id: int | None = None) -> t.StartResult:
    """Start charging with the caller's app token (POST /transactions/start)."""
    gql = context(info)
    caller = await gql.caller()
    body = parse(StartBody, {"chargePointId": charge_point_id, "evseId": evse_id})
    with acting_for(caller_of(caller.sub, caller.role, gql.ip)):
        out = await txs.start(gql.app, caller, body.charge_point_id, body.evse_id)
    return t.copy(t.StartResult, out)


async def stop_transaction(info: strawberry.Info, id: strawberry.ID) -> t.StopResult:
    """Stop one of the caller's active sessions (operators: any)."""
    gql = context(info)
    caller = await gql.caller()
    with acting_for(caller_of(caller.sub, caller.role, gql.ip)):
        return t.copy(t.StopResult, await txs.stop(gql.app, caller, str(id)))


async def send_command(info: strawberry.Info, charge_point_id: str, command: CommandName,
                       body: JSON | None = None) -> t.CommandResult:
    """Send a station command; `body` is the REST route's JSON body (operators only)."""
    gql = context(info)
    caller = await gql.caller(Role.OPERATOR)
    with acting_for(caller_of(caller.sub, caller.role, gql.ip)):
        answer = await remote.send_named(gql.services.commands, charge_point_id,
                                         remote.CommandName(command.value),
                                         msgspec.json.encode(body or {}))
    status = answer.get("status")
    return t.CommandResult(status=status if isinstance(status, str) else None,
                           response=JSON(answer))


async def reserve(info: strawberry.Info, charge_point_id: str, evse_id: int | None = None,
                  expires_in_s: int = 900) -> t.Reservation:
    """Reserve an EVSE for the caller's app token (ReserveNow)."""
    gql = context(info)
    caller = await gql.caller()
    body = parse(reservations.ReserveBody, {"chargePointId": charge_point_id,
                                            "evseId": evse_id, "expiresInS": expires_in_s})
    with acting_for(caller_of(caller.sub, caller.role, gql.ip)):
        made = await reservations.make(gql.app, caller, body)
    return t.Reservation.of(made)


async def cancel_reservation(info: strawberry.Info, id: strawberry.ID) -> t.Reservation:
    gql = context(info)
    caller = await gql.caller()
    with acting_for(caller_of(caller.sub, caller.role, gql.ip)):
        done = await reservations.cancel_one(gql.app, caller, str(id))
    return t.Reservation.of(done)


async def start_discharge(info: strawberry.Info, charge_point_id: str, min_soc: int,
                          evse_id: int | None = None, max_energy_wh: int | None = None,
                          until: datetime | None = None) -> t.V2GSession:
    """Discharge the caller's car on its transaction's EVSE (POST /v2g/discharge/start)."""
    gql = context(info)
    caller = await gql.caller()
    body = parse(v2g_schemas.DischargeStartBody, {
        "chargePointId": charge_point_id, "evseId": evse_id, "minSoc": min_soc,
        "maxEnergyWh": max_energy_wh, "until": until})
    with acting_for(caller_of(caller.sub, caller.role, gql.ip)):
        return t.V2GSession.of(await sessions.start(gql.app, caller, body))


async def stop_discharge(info: strawberry.Info, session_id: strawberry.ID) -> t.V2GSession:
    gql = context(info)
    caller = await gql.caller()
    try:
        sid = UUID(str(session_id))
    except ValueError:
        raise NotFound("v2g session", str(session_id)) from None
    with acting_for(caller_of(caller.sub, caller.role, gql.ip)):
        return t.V2GSession.of(await sessions.stop(gql.app, caller, sid))


@strawberry.type
class Mutation:
    start_transaction: t.StartResult = strawberry.mutation(resolver=start_transaction)
    stop_transaction: t.StopResult = strawberry.mutation(resolver=stop_transaction)
    send_command: t.CommandResult = strawberry.mutation(resolver=send_command)
    reserve: t.Reservation = strawberry.mutation(resolver=reserve)
    cancel_reservation: t.Reservation = strawberry.mutation(resolver=cancel_reservation)
    start_discharge: t.V2GSession = strawberry.mutation(resolver=start_discharge)
    stop_discharge: t.V2GSession = strawberry.mutation(resolver=stop_discharge)
