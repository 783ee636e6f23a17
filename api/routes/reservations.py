"""Reservations: reserve an EVSE for the caller's app token, cancel, list (own; operators all)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Protocol
from uuid import UUID

import msgspec
from aiohttp import web

from api.context import AppContext
from api.errors import Conflict, InvalidInput, NotConfigured, NotFound
from api.routes.id_tokens import ports_of
from api.routing import Call, Principal, Resource, json_response, role_allows
from api.schemas.base import Body, Out, PageQuery
from api.security import authenticate
from api.services.transactions import app_token
from sigec_actors.domain.records import Role
from sigec_actors.transactions.errors import (
    IllegalReservationTransition,
    ReservationConflict,
    ReservationLimitReached,
    UnknownEvse,
    UnknownReservation,
)
from sigec_actors.transactions.ports import ReservationListing, ReservationRepository
from sigec_actors.transactions.reservation_model import (
    NewReservation,
    Reservation,
    ReservationStatus,
)
from sigec_actors.transactions.reservations import ReservationService

resource = Resource("reservations", authenticate)
routes = resource.table
BASE = "/api/v1/reservations"
EXTRAS_KEY = "reservations"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}
COMMAND_ERRORS = (409, 502, 503, 504)
_LIMITS = {"user": "of the caller", "any-evse": "for any EVSE of the station",
           "station": "of the station"}


class Waker(Protocol):
    def poke(self) -> None: ...


@dataclass
class ReservationPorts:
    """What the reservation routes use; the node puts it in `AppContext.extras["reservations"]`
    (routes answer 503 while it is missing). `timer` is woken after each new reservation."""

    service: ReservationService
    repo: ReservationRepository
    listing: ReservationListing
    timer: Waker | None = None


def reservation_ports(ctx: AppContext) -> ReservationPorts:
    ports = ctx.extras.get(EXTRAS_KEY)
    if not isinstance(ports, ReservationPorts):
        raise NotConfigured("reservations")
    return ports


class ReserveBody(Body, frozen=True, kw_only=True):
    """Reserve `evseId` (or any EVSE of the station when omitted) for `expiresInS` seconds.

    `evseId` must be one the station reported (422 otherwise); 409 when the caller already
    holds `billing.max_live_reservations_per_user` live reservations, one "any EVSE" one on
    this station, or the station has as many live reservations as EVSEs."""

    charge_point_id: Annotated[str, msgspec.Meta(min_length=1, max_length=48)]
    evse_id: Annotated[int, msgspec.Meta(ge=1)] | None = None
    expires_in_s: Annotated[int, msgspec.Meta(ge=60, le=86_400)] = 900


class ReservationOut(Out, frozen=True, kw_only=True):
    """`status` is the station's answer (Accepted, Occupied, ...) or what happened since
    (Cancelled, Expired, Used); `reservationId` is the id the station knows it by."""

    id: UUID
    reservation_id: int
    charge_point_id: str
    evse_id: int | None
    status: str
    accepted: bool
    expires_at: datetime
    created_at: datetime

    @classmethod
    def of(cls, r: Reservation) -> ReservationOut:
        return cls(id=r.id, reservation_id=r.ocpp_id, charge_point_id=r.station_id,
                   evse_id=r.evse_id, status=r.status.value,
                   accepted=r.status is ReservationStatus.ACCEPTED, expires_at=r.expires_at,
                   created_at=r.created_at)


class ReservationAdminQuery(PageQuery, frozen=True, kw_only=True):
    station_id: str | None = None
    status: ReservationStatus | None = None


def _uuid(raw: str) -> UUID:
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound("reservation", raw) from None


def holder(caller: Principal) -> UUID | None:
    """The caller's id, or None for operators (who may see and cancel any reservation)."""
    return None if role_allows(caller.role, Role.OPERATOR) else UUID(caller.sub)


async def make(ctx: AppContext, caller: Principal, body: ReserveBody) -> ReservationOut:
    """Reserve for the caller's app token (ReserveNow); REST, GraphQL and gRPC call this."""
    ports = reservation_ports(ctx)
    commander, stations = ctx.commander, ctx.stations
    if commander is None or stations is None:
        raise NotConfigured("station commander")
    if await stations.get(body.charge_point_id) is None:
        raise NotFound("charge point", body.charge_point_id)
    user = UUID(caller.sub)
    token = await app_token(ports_of(ctx), user)
    new = NewReservation(
        station_id=body.charge_point_id, user_id=user, id_token=token.id_token,
        id_token_type=token.type.value, evse_id=body.evse_id,
        expires_at=ctx.clock() + timedelta(seconds=body.expires_in_s))
    try:
        made = await ports.service.reserve(commander, new)
    except ReservationConflict as exc:
        raise Conflict("EVSE", f"{exc.station_id}/{exc.evse_id}", "is already reserved") from None
    except UnknownEvse as exc:
        raise InvalidInput("evseId", str(exc)) from None
    except ReservationLimitReached as exc:
        raise Conflict("reservations", _LIMITS[exc.scope], str(exc)) from None
    if ports.timer is not None:
        ports.timer.poke()  # its expiry may come before the timer's next round
    return ReservationOut.of(made)


async def cancel_one(ctx: AppContext, caller: Principal, raw_id: str) -> ReservationOut:
    """Cancel a reservation the caller holds (operators: any) with CancelReservation."""
    ports = reservation_ports(ctx)
    commander = ctx.commander
    if commander is None:
        raise NotConfigured("station commander")
    rid = _uuid(raw_id)
    try:
        done = await ports.service.cancel(commander, rid, user_id=holder(caller))
    except UnknownReservation:
        raise NotFound("reservation", str(rid)) from None
    except IllegalReservationTransition as exc:
        raise Conflict("reservation", str(rid), f"is {exc.current}, not live") from None
    return ReservationOut.of(done)


@resource.post(BASE, "Reserve an EVSE for the caller's app token (ReserveNow)", role=Role.USER,
               body=ReserveBody, response=ReservationOut, status=201,
               errors=(404, 422, *COMMAND_ERRORS))
async def reserve(call: Call) -> web.Response:
    return json_response(await make(call.ctx, call.caller, call.body(ReserveBody)), status=201)


@resource.delete(BASE + "/{id}", "Cancel one of the caller's reservations (CancelReservation)",
                 role=Role.USER, response=ReservationOut, errors=(404, *COMMAND_ERRORS),
                 path_types=UUID_PATH)
async def cancel(call: Call) -> web.Response:
    return json_response(await cancel_one(call.ctx, call.caller, call.path("id")))


@resource.get(BASE, "The caller's reservations, newest first", role=Role.USER, query=PageQuery,
              response=list[ReservationOut], errors=(422,))
async def mine(call: Call) -> web.Response:
    q = call.query(PageQuery)
    rows = await reservation_ports(call.ctx).repo.for_user(UUID(call.caller.sub), q.limit,
                                                           q.offset)
    return json_response([ReservationOut.of(r) for r in rows])


@resource.get(BASE + "/{id}", "One reservation (its holder; operators see all)", role=Role.USER,
              response=ReservationOut, errors=(404,), path_types=UUID_PATH)
async def one(call: Call) -> web.Response:
    rid = _uuid(call.path("id"))
    try:
        r = await reservation_ports(call.ctx).service.visible(rid, holder(call.caller))
    except UnknownReservation:
        raise NotFound("reservation", str(rid)) from None
    return json_response(ReservationOut.of(r))


@resource.get("/api/v1/admin/reservations", "Every reservation (filters: station, status)",
              role=Role.OPERATOR, query=ReservationAdminQuery, response=list[ReservationOut],
              errors=(422,))
async def admin_list(call: Call) -> web.Response:
    q = call.query(ReservationAdminQuery)
    rows = await reservation_ports(call.ctx).listing.page(q.station_id, q.status, q.limit, q.offset)
    return json_response([ReservationOut.of(r) for r in rows])
