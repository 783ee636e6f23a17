"""Charging sessions: start/stop with the app token, one, active, history, all (operator)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from aiohttp import web

from api.errors import Conflict, NotConfigured, NotFound, StartRefused
from api.routes.id_tokens import TransactionPorts, ports_of
from api.routing import Call, Resource, json_response, role_allows
from api.schemas.base import Body, Limit, Offset, Out
from api.security import authenticate
from sigec_actors.domain.errors import IdTokenTaken
from sigec_actors.domain.records import IdTokenStatus, IdTokenType, Role
from sigec_actors.domain.transactions import MeterValueIn, Transaction, TxStatus
from sigec_actors.ocpp.generated import v201
from sigec_actors.transactions import remote_starts
from sigec_actors.transactions.errors import RemoteStartIdTaken
from sigec_actors.transactions.ports import RemoteStarts, TxFilter

resource = Resource("transactions", authenticate)
routes = resource.table
BASE = "/api/v1/transactions"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}
COMMAND_ERRORS = (404, 409, 502, 503, 504)
START_ERRORS = (402, *COMMAND_ERRORS)


class MoneyOut(Out, frozen=True, kw_only=True):
    """An amount of money: integer centavos (1/100 BRL) and the ISO 4217 currency."""

    amount_centavos: int
    currency: str = "BRL"


class MeterOut(Out, frozen=True, kw_only=True):
    """The latest sample of one measurand; `value` is the station's exact decimal, as text."""

    measurand: str
    value: str
    unit: str | None
    phase: str | None
    sampled_at: datetime


class TransactionOut(Out, frozen=True, kw_only=True):
    id: UUID
    station_transaction_id: str
    charge_point_id: str
    evse_id: int | None
    connector_id: int | None
    status: str
    incomplete: bool
    charging_state: str | None
    stopped_reason: str | None
    started_at: datetime | None
    ended_at: datetime | None
    energy_wh: int
    energy_export_wh: int
    cost: MoneyOut
    meter_values: list[MeterOut]


class TransactionPage(Out, frozen=True, kw_only=True):
    items: list[TransactionOut]
    total: int
    limit: int
    offset: int


class StartBody(Body, frozen=True, kw_only=True):
    charge_point_id: Annotated[str, msgspec.Meta(min_length=1, max_length=48)]
    evse_id: Annotated[int, msgspec.Meta(ge=1)] | None = None


class StartOut(Out, frozen=True, kw_only=True):
    """`accepted`: the station took the request (the session starts when it says Started)."""

    accepted: bool
    status: str
    remote_start_id: int
    station_transaction_id: str | None = None


class StopOut(Out, frozen=True, kw_only=True):
    accepted: bool
    status: str


class HistoryQuery(Body, frozen=True, kw_only=True):
    """Sessions that started in [from, to), newest first."""

    limit: Limit = 50
    offset: Offset = 0
    since: datetime | None = msgspec.field(default=None, name="from")
    until: datetime | None = msgspec.field(default=None, name="to")


class AdminQuery(HistoryQuery, frozen=True, kw_only=True):
    station_id: str | None = None
    user_id: UUID | None = None
    status: TxStatus | None = None


def latest(values: list[MeterValueIn]) -> list[MeterOut]:
    """The newest sample per (measurand, phase)."""
    last: dict[tuple[str, str | None], MeterValueIn] = {}
    for mv in sorted(values, key=lambda m: m.sampled_at):
        last[(mv.measurand, mv.phase)] = mv
    return [MeterOut(measurand=m.measurand, value=str(m.value), unit=m.unit, phase=m.phase,
                     sampled_at=m.sampled_at) for m in last.values()]


async def view(ports: TransactionPorts, tx: Transaction) -> TransactionOut:
    return TransactionOut(
        id=tx.id, station_transaction_id=tx.station_transaction_id, charge_point_id=tx.station_id,
        evse_id=tx.evse_id, connector_id=tx.connector_id, status=tx.status.value,
        incomplete=tx.seq_gap, charging_state=tx.charging_state,
        stopped_reason=tx.stopped_reason, started_at=tx.started_at, ended_at=tx.ended_at,
        energy_wh=tx.energy_wh, energy_export_wh=tx.energy_export_wh,
        cost=MoneyOut(amount_centavos=tx.cost_centavos, currency=tx.currency),
        meter_values=latest(await ports.store.meter_values(tx.id)))


async def _page(call: Call, where: TxFilter, q: HistoryQuery) -> web.Response:
    ports = ports_of(call.ctx)
    rows = await ports.queries.page(where, q.limit, q.offset)
    return json_response(TransactionPage(
        items=[await view(ports, t) for t in rows], total=await ports.queries.count(where),
        limit=q.limit, offset=q.offset))


async def _visible(call: Call) -> Transaction:
    """The transaction at {id} if the caller owns it (operators see all); else 404."""
    raw = call.path("id")
    try:
        tx = await ports_of(call.ctx).store.get(UUID(raw))
    except ValueError:
        tx = None
    if tx is None or not (str(tx.user_id) == call.caller.sub
                          or role_allows(call.caller.role, Role.OPERATOR)):
        raise NotFound("transaction", raw)
    return tx


async def app_token(ports: TransactionPorts, user_id: UUID) -> v201.IdToken:
    """The user's app token (type Central), created on first use."""
    mine = await ports.id_tokens.list_for_user(user_id)
    central = [t for t in mine if t.type is IdTokenType.CENTRAL]
    token = next((t for t in central if t.status is IdTokenStatus.ACCEPTED),
                 central[0] if central else None)  # a blocked one: the authorizer says so
    if token is None:
        value = "app-" + user_id.hex
        try:
            token = await ports.id_tokens.add(user_id, value, IdTokenType.CENTRAL)
        except IdTokenTaken:
            raise Conflict("app token", value, "is not usable (blocked or expired)") from None
    return v201.IdToken(id_token=token.id_token, type=v201.IdTokenEnum.CENTRAL)


async def may_start(ports: TransactionPorts, token: v201.IdToken, now: datetime) -> None:
    """StartRefused unless the authorizer would accept `token` at the station's Started
    (the same decision: blocked, expired, ConcurrentTx, NoCredit)."""
    if ports.authorizer is None:
        raise NotConfigured("authorizer")
    decision = await ports.authorizer.check(token.id_token, token.type.value, now)
    if decision.status is not v201.AuthorizationStatusEnum.ACCEPTED:
        raise StartRefused(decision.status.value)


@resource.post(BASE + "/start", "Start charging with the caller's app token",
               role=Role.USER, body=StartBody, response=StartOut, errors=START_ERRORS)
async def start(call: Call) -> web.Response:
    body = call.body(StartBody)
    commander = call.ctx.commander
    if commander is None:
        raise NotConfigured("station commander")
    ports = ports_of(call.ctx)
    token = await app_token(ports, UUID(call.caller.sub))
    await may_start(ports, token, call.ctx.clock())  # refused here, never sent to the station
    starts = ports.store if isinstance(ports.store, RemoteStarts) else None
    try:  # stored before it is sent: the Started links to the caller on any node
        remote_id = await remote_starts.remember(
            starts, body.charge_point_id, (token.id_token, token.type.value),
            UUID(call.caller.sub), call.ctx.request_ids)
    except RemoteStartIdTaken as exc:
        raise Conflict("remoteStartId", str(exc.remote_start_id), "is taken") from None
    answer = await commander.send(body.charge_point_id, v201.RequestStartTransactionRequest(
        id_token=token, remote_start_id=remote_id, evse_id=body.evse_id))
    assert isinstance(answer, v201.RequestStartTransactionResponse)
    if starts is not None and answer.status is not v201.RequestStartStopStatusEnum.ACCEPTED:
        await starts.forget_remote_start(body.charge_point_id, remote_id)
    return json_response(StartOut(
        accepted=answer.status is v201.RequestStartStopStatusEnum.ACCEPTED,
        status=answer.status.value, remote_start_id=remote_id,
        station_transaction_id=answer.transaction_id))


@resource.post(BASE + "/{id}/stop", "Stop one of the caller's active sessions",
               role=Role.USER, response=StopOut, errors=COMMAND_ERRORS, path_types=UUID_PATH)
async def stop(call: Call) -> web.Response:
    tx = await _visible(call)
    if tx.status is not TxStatus.ACTIVE:
        raise Conflict("transaction", str(tx.id), "has already ended")
    commander = call.ctx.commander
    if commander is None:
        raise NotConfigured("station commander")
    answer = await commander.send(tx.station_id, v201.RequestStopTransactionRequest(
        transaction_id=tx.station_transaction_id))
    assert isinstance(answer, v201.RequestStopTransactionResponse)
    return json_response(StopOut(
        accepted=answer.status is v201.RequestStartStopStatusEnum.ACCEPTED,
        status=answer.status.value))


@resource.get(BASE + "/active", "The caller's sessions in progress", role=Role.USER,
              response=list[TransactionOut])
async def active(call: Call) -> web.Response:
    ports = ports_of(call.ctx)
    rows = await ports.queries.page(
        TxFilter(user_id=UUID(call.caller.sub), status=TxStatus.ACTIVE), limit=200)
    return json_response([await view(ports, t) for t in rows])


@resource.get(BASE + "/history", "The caller's sessions, newest first (paged, by start date)",
              role=Role.USER, query=HistoryQuery, response=TransactionPage, errors=(422,))
async def history(call: Call) -> web.Response:
    q = call.query(HistoryQuery)
    return await _page(call, TxFilter(user_id=UUID(call.caller.sub), since=q.since,
                                      until=q.until), q)


@resource.get(BASE + "/{id}", "One session (its owner; operators see all)", role=Role.USER,
              response=TransactionOut, errors=(404,), path_types=UUID_PATH)
async def one(call: Call) -> web.Response:
    return json_response(await view(ports_of(call.ctx), await _visible(call)))


@resource.get("/api/v1/admin/transactions", "Every session (filters: station, user, status)",
              role=Role.OPERATOR, query=AdminQuery, response=TransactionPage, errors=(422,))
async def admin_list(call: Call) -> web.Response:
    q = call.query(AdminQuery)
    return await _page(call, TxFilter(user_id=q.user_id, station_id=q.station_id,
                                      status=q.status, since=q.since, until=q.until), q)
