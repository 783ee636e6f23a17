"""Charging sessions for one caller: what REST, GraphQL and gRPC share (ownership, start, stop)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from api.context import AppContext
from api.errors import Conflict, NotConfigured, NotFound, StartRefused
from api.routes.id_tokens import TransactionPorts, ports_of
from api.routing import Principal, role_allows
from api.schemas.transactions import (
    MeterOut,
    MoneyOut,
    StartOut,
    StopOut,
    TransactionOut,
    TransactionPage,
)
from sigec_actors.domain.errors import IdTokenTaken
from sigec_actors.domain.records import IdTokenStatus, IdTokenType, Role
from sigec_actors.domain.transactions import MeterValueIn, Transaction, TxStatus
from sigec_actors.ocpp.generated import v201
from sigec_actors.transactions import remote_starts
from sigec_actors.transactions.errors import RemoteStartIdTaken
from sigec_actors.transactions.ports import RemoteStarts, TxFilter


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


def may_see(caller: Principal, owner: UUID | None) -> bool:
    """Owners see their own objects; operators and admins see everyone's."""
    return str(owner) == caller.sub or role_allows(caller.role, Role.OPERATOR)


def mine_or_all(caller: Principal, where: TxFilter) -> TxFilter:
    """A listing narrowed to the caller's own sessions unless the caller is an operator."""
    if role_allows(caller.role, Role.OPERATOR):
        return where
    return TxFilter(user_id=UUID(caller.sub), station_id=where.station_id, status=where.status,
                    since=where.since, until=where.until)


async def page(ctx: AppContext, where: TxFilter, limit: int, offset: int) -> TransactionPage:
    ports = ports_of(ctx)
    rows = await ports.queries.page(where, limit, offset)
    return TransactionPage(items=[await view(ports, t) for t in rows],
                           total=await ports.queries.count(where), limit=limit, offset=offset)


async def visible(ctx: AppContext, caller: Principal, raw_id: str) -> Transaction:
    """The transaction `raw_id` if the caller owns it (operators see all); else NotFound."""
    try:
        tx = await ports_of(ctx).store.get(UUID(raw_id))
    except ValueError:
        tx = None
    if tx is None or not may_see(caller, tx.user_id):
        raise NotFound("transaction", raw_id)
    return tx


async def one(ctx: AppContext, caller: Principal, raw_id: str) -> TransactionOut:
    return await view(ports_of(ctx), await visible(ctx, caller, raw_id))


async def active(ctx: AppContext, caller: Principal) -> list[TransactionOut]:
    ports = ports_of(ctx)
    rows = await ports.queries.page(
        TxFilter(user_id=UUID(caller.sub), status=TxStatus.ACTIVE), limit=200)
    return [await view(ports, t) for t in rows]


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


async def start(ctx: AppContext, caller: Principal, station_id: str,
                evse_id: int | None) -> StartOut:
    """Start charging on `station_id` with the caller's app token (RequestStartTransaction)."""
    commander = ctx.commander
    if commander is None:
        raise NotConfigured("station commander")
    ports = ports_of(ctx)
    token = await app_token(ports, UUID(caller.sub))
    await may_start(ports, token, ctx.clock())  # refused here, never sent to the station
    starts = ports.store if isinstance(ports.store, RemoteStarts) else None
    try:  # stored before it is sent: the Started links to the caller on any node
        remote_id = await remote_starts.remember(
            starts, station_id, (token.id_token, token.type.value), UUID(caller.sub),
            ctx.request_ids)
    except RemoteStartIdTaken as exc:
        raise Conflict("remoteStartId", str(exc.remote_start_id), "is taken") from None
    answer = await commander.send(station_id, v201.RequestStartTransactionRequest(
        id_token=token, remote_start_id=remote_id, evse_id=evse_id))
    assert isinstance(answer, v201.RequestStartTransactionResponse)
    if starts is not None and answer.status is not v201.RequestStartStopStatusEnum.ACCEPTED:
        await starts.forget_remote_start(station_id, remote_id)
    return StartOut(accepted=answer.status is v201.RequestStartStopStatusEnum.ACCEPTED,
                    status=answer.status.value, remote_start_id=remote_id,
                    station_transaction_id=answer.transaction_id)


async def stop(ctx: AppContext, caller: Principal, raw_id: str) -> StopOut:
    """Stop one of the caller's active sessions (operators: any) with RequestStopTransaction."""
    tx = await visible(ctx, caller, raw_id)
    if tx.status is not TxStatus.ACTIVE:
        raise Conflict("transaction", str(tx.id), "has already ended")
    commander = ctx.commander
    if commander is None:
        raise NotConfigured("station commander")
    answer = await commander.send(tx.station_id, v201.RequestStopTransactionRequest(
        transaction_id=tx.station_transaction_id))
    assert isinstance(answer, v201.RequestStopTransactionResponse)
    return StopOut(accepted=answer.status is v201.RequestStartStopStatusEnum.ACCEPTED,
                   status=answer.status.value)
