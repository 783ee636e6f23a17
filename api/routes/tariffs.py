"""Tariff administration (admin; audited): stored tariffs price sessions, config is the default.

A change never reprices a session: see sigec_actors.tariffs.model for what PATCH and DELETE
do to a tariff already in effect."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Protocol, runtime_checkable
from uuid import UUID, uuid4

import msgspec
from aiohttp import web
from msgspec import UNSET, UnsetType

from api.errors import Conflict, InvalidInput, NotConfigured, NotFound
from api.routing import Call, Resource, json_response
from api.schemas.base import Body, Offset, Out
from api.schemas.stations import StationId
from api.security import authenticate
from api.services import need
from sigec_actors.domain.records import AuditEntry, Role
from sigec_actors.tariffs.model import (
    BadTariff,
    Scope,
    TariffError,
    TariffLocked,
    TariffOverlap,
    TariffRow,
    UnknownTariff,
    check_scope,
    check_window,
)

resource = Resource("tariffs", authenticate)
routes = resource.table
EXTRAS_KEY = "tariffs.admin"
BASE = "/api/v1/admin/tariffs"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}
PAST_SLACK = timedelta(seconds=60)  # a validFrom this far back is taken as "now"
Centavos = Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
Id = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]
_FIELDS = {"price_per_kwh_centavos": "pricePerKwhCentavos",
           "per_minute_centavos": "pricePerMinuteCentavos",
           "idle_per_minute_centavos": "idlePerMinuteCentavos",
           "session_fee_centavos": "sessionFeeCentavos", "valid_from": "validFrom",
           "valid_to": "validTo", "charge_point_id": "chargePointId", "evse_id": "evseId",
           "connector_id": "connectorId", "name": "name"}


@runtime_checkable
class TariffAdmin(Protocol):
    """sigec_actors.tariffs.store.PgTariffAdmin (testing.admin_surface.InMemoryTariffAdmin)."""

    async def page(self, limit: int, offset: int, *,
                   deleted: bool = False) -> tuple[list[TariffRow], int]: ...
    async def get(self, tariff_id: UUID) -> TariffRow | None: ...
    async def create(self, row: TariffRow) -> TariffRow: ...
    async def update(self, tariff_id: UUID, changes: Mapping[str, Any],
                     now: datetime) -> TariffRow: ...
    async def delete(self, tariff_id: UUID, now: datetime) -> TariffRow | None: ...


class TariffBody(Body, frozen=True, kw_only=True):
    """A tariff. `scope` network: no ids; station: chargePointId; connector: chargePointId
    and evseId (connectorId optional). `validFrom` defaults to now and may not be in the
    past; `validTo` null: open-ended. Tariffs of one target may not overlap in time."""

    name: Name
    scope: Scope
    charge_point_id: StationId | None = None
    evse_id: Id | None = None
    connector_id: Id | None = None
    price_per_kwh_centavos: Centavos = 0
    price_per_minute_centavos: Centavos = 0
    idle_per_minute_centavos: Centavos = 0
    session_fee_centavos: Centavos = 0
    valid_from: datetime | None = None
    valid_to: datetime | None = None


class TariffPatchBody(Body, frozen=True, kw_only=True):
    """Fields to change. On a tariff in effect, new prices end it now and answer its
    successor (a new id, `replacesId` naming this one); its validFrom cannot change."""

    name: Name | UnsetType = UNSET
    price_per_kwh_centavos: Centavos | UnsetType = UNSET
    price_per_minute_centavos: Centavos | UnsetType = UNSET
    idle_per_minute_centavos: Centavos | UnsetType = UNSET
    session_fee_centavos: Centavos | UnsetType = UNSET
    valid_from: datetime | UnsetType = UNSET
    valid_to: datetime | UnsetType | None = UNSET


class TariffQuery(Body, frozen=True, kw_only=True):
    limit: Annotated[int, msgspec.Meta(ge=1, le=200)] = 50
    offset: Offset = 0
    deleted: bool = False


class TariffOut(Out, frozen=True, kw_only=True):
    id: str
    name: str | None
    scope: Scope
    charge_point_id: str | None
    evse_id: int | None
    connector_id: int | None
    currency: str
    price_per_kwh_centavos: int
    price_per_minute_centavos: int
    idle_per_minute_centavos: int
    session_fee_centavos: int
    valid_from: datetime
    valid_to: datetime | None
    replaces_id: str | None
    deleted_at: datetime | None

    @classmethod
    def of(cls, t: TariffRow) -> TariffOut:
        return cls(id=str(t.id), name=t.name, scope=t.scope, charge_point_id=t.charge_point_id,
                   evse_id=t.evse_id, connector_id=t.connector_id, currency=t.currency,
                   price_per_kwh_centavos=t.price_per_kwh_centavos,
                   price_per_minute_centavos=t.per_minute_centavos,
                   idle_per_minute_centavos=t.idle_per_minute_centavos,
                   session_fee_centavos=t.session_fee_centavos, valid_from=t.valid_from,
                   valid_to=t.valid_to,
                   replaces_id=None if t.replaces_id is None else str(t.replaces_id),
                   deleted_at=t.deleted_at)


class TariffPageOut(Out, frozen=True, kw_only=True):
    items: list[TariffOut]
    total: int
    limit: int
    offset: int


def _admin(call: Call) -> TariffAdmin:
    port = call.ctx.extras.get(EXTRAS_KEY)
    if not isinstance(port, TariffAdmin):
        raise NotConfigured("tariffs")
    return port


def _id(call: Call) -> UUID:
    try:
        return UUID(call.path("id"))
    except ValueError:
        raise NotFound("tariff", call.path("id")) from None


def _http(exc: TariffError, key: str) -> Exception:
    """The API error for a tariff rule's refusal."""
    match exc:
        case UnknownTariff():
            return NotFound("tariff", key)
        case TariffOverlap() | TariffLocked():
            return Conflict("tariff", key, str(exc).split(": ", 1)[-1])
        case BadTariff():
            return InvalidInput(_FIELDS.get(exc.field, exc.field), exc.problem)
    return exc


def _not_past(value: datetime, now: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise InvalidInput(name, "must carry a time zone")
    if value < now - PAST_SLACK:
        raise InvalidInput(name, "must not be in the past (a session keeps its tariff)")
    return max(value, now)


def _new_row(body: TariffBody, now: datetime) -> TariffRow:
    check_scope(body.scope, body.charge_point_id, body.evse_id, body.connector_id)
    valid_from = now if body.valid_from is None else _not_past(body.valid_from, now,
                                                               "validFrom")
    if body.valid_to is not None and body.valid_to.tzinfo is None:
        raise InvalidInput("validTo", "must carry a time zone")
    check_window(valid_from, body.valid_to)
    return TariffRow(
        id=uuid4(), name=body.name, charge_point_id=body.charge_point_id,
        evse_id=body.evse_id, connector_id=body.connector_id,
        price_per_kwh_centavos=body.price_per_kwh_centavos,
        per_minute_centavos=body.price_per_minute_centavos,
        idle_per_minute_centavos=body.idle_per_minute_centavos,
        session_fee_centavos=body.session_fee_centavos, valid_from=valid_from,
        valid_to=body.valid_to)


def _changes(body: TariffPatchBody, now: datetime) -> dict[str, Any]:
    given = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not UNSET}
    if "price_per_minute_centavos" in given:
        given["per_minute_centavos"] = given.pop("price_per_minute_centavos")
    if "valid_from" in given:
        given["valid_from"] = _not_past(given["valid_from"], now, "validFrom")
    if given.get("valid_to") is not None and given["valid_to"].tzinfo is None:
        raise InvalidInput("validTo", "must carry a time zone")
    return given


async def _audit(call: Call, action: str, tariff_id: UUID, details: dict[str, Any]) -> None:
    await need(call.ctx.audit, "audit log").record(AuditEntry(
        "user", action, call.caller.sub, "tariff", str(tariff_id),
        details=msgspec.to_builtins(details), ip=call.request.remote))


@resource.get(BASE, "Stored tariffs, latest start first (deleted ones with deleted=true)",
              role=Role.OPERATOR, query=TariffQuery, response=TariffPageOut)
async def list_tariffs(call: Call) -> web.Response:
    q = call.query(TariffQuery)
    rows, total = await _admin(call).page(q.limit, q.offset, deleted=q.deleted)
    return json_response(TariffPageOut(items=[TariffOut.of(r) for r in rows], total=total,
                                       limit=q.limit, offset=q.offset))


@resource.post(BASE, "Create a tariff (409 when it overlaps one of the same scope; audited)",
               role=Role.ADMIN, body=TariffBody, response=TariffOut, status=201,
               errors=(409,))
async def create_tariff(call: Call) -> web.Response:
    body = call.body(TariffBody)
    try:
        row = await _admin(call).create(_new_row(body, call.ctx.clock()))
    except TariffError as exc:
        raise _http(exc, "new") from None
    await _audit(call, "tariff.create", row.id, msgspec.structs.asdict(body))
    return json_response(TariffOut.of(row), status=201)


@resource.get(BASE + "/{id}", "One tariff (deleted ones too)", role=Role.OPERATOR,
              response=TariffOut, errors=(404,), path_types=UUID_PATH)
async def get_tariff(call: Call) -> web.Response:
    row = await _admin(call).get(_id(call))
    if row is None:
        raise NotFound("tariff", call.path("id"))
    return json_response(TariffOut.of(row))


@resource.patch(BASE + "/{id}", "Change a tariff; new prices on one in effect answer its"
                " successor (audited)", role=Role.ADMIN, body=TariffPatchBody,
                response=TariffOut, errors=(404, 409), path_types=UUID_PATH)
async def patch_tariff(call: Call) -> web.Response:
    tariff_id = _id(call)
    now = call.ctx.clock()
    changes = _changes(call.body(TariffPatchBody), now)
    try:
        row = await _admin(call).update(tariff_id, changes, now)
    except TariffError as exc:
        raise _http(exc, str(tariff_id)) from None
    await _audit(call, "tariff.update", tariff_id, {**changes, "result": str(row.id)})
    return json_response(TariffOut.of(row))


@resource.delete(BASE + "/{id}", "Delete a tariff: one in effect ends now and stays for the"
                 " sessions it priced (audited)", role=Role.ADMIN, status=204,
                 errors=(404, 409), path_types=UUID_PATH)
async def delete_tariff(call: Call) -> web.Response:
    tariff_id = _id(call)
    try:
        kept = await _admin(call).delete(tariff_id, call.ctx.clock())
    except TariffError as exc:
        raise _http(exc, str(tariff_id)) from None
    await _audit(call, "tariff.delete", tariff_id, {"kept": kept is not None})
    return web.Response(status=204)
