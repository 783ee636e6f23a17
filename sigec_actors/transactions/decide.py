"""Pure decision for one new TransactionEvent: next transaction state, response, outbox events."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeGuard
from uuid import UUID

import msgspec

from sigec_actors.domain import events as subjects
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.domain.transactions import (
    RemoteStart,
    Transaction,
    TransactionState,
    TxDecision,
    TxStatus,
)
from sigec_actors.ocpp.generated.v201 import IdTokenInfo, TransactionEventResponse
from sigec_actors.transactions.facts import EventFacts
from sigec_actors.transactions.fold import Folded, fold
from sigec_actors.transactions.tariffs import Tariff, centavos_to_wire, cost_centavos

_STATE_FIELDS = TransactionState.__struct_fields__


class DecideContext(msgspec.Struct, frozen=True, kw_only=True):
    """What the shell looked up for this event; each part derives from the fold, not arrival.

    `user_id`: owner of the transaction's token (see `owned`); `id_token_info`: the answer for
    the idToken of *this* event (None when it carries none); `reservation_id`: our row for the
    event's OCPP reservationId; `remote`: our RequestStartTransaction the events name by
    remoteStartId, claimed by this transaction.
    """

    station_id: str
    station_transaction_id: str
    tariff: Tariff
    user_id: UUID | None = None
    reservation_id: UUID | None = None
    id_token_info: IdTokenInfo | None = None
    remote: RemoteStart | None = None


def decide(current: Transaction | None, history: Sequence[EventFacts], event: EventFacts,
           ctx: DecideContext) -> TxDecision:
    """Fold `event` with the transaction's stored events into the next state and answer.

    The state is a function of the set of events (see fold), so duplicates, reordering and
    delays end in the same state and bill as the clean stream.
    """
    return decide_folded(current, fold([*history, event]), event, ctx)


def decide_folded(current: Transaction | None, folded: Folded, event: EventFacts,
                  ctx: DecideContext) -> TxDecision:
    """`decide` given the fold of the stored events and `event` (the shell folded already).

    A settled row (see `settled`) is kept as it is: the event is stored and answered with
    the billed totalCost, and changes neither energy, cost nor owner.
    """
    folded = owned(folded, current, ctx.remote)
    state = kept_state(current) if settled(current) else state_of(folded, ctx, current)
    return TxDecision(
        state=state,
        response=response_of(event, state.cost_centavos, ctx,
                             ended=state.status is TxStatus.ENDED),
        events=outbox_of(ctx, current, state, folded, event),
        meter_values=tuple(s.stored for s in event.samples))


def settled(current: Transaction | None) -> TypeGuard[Transaction]:
    """Ended with every seqNo up to its Ended: what billing posts, so it never changes again."""
    return current is not None and current.status is TxStatus.ENDED and not current.seq_gap


def kept_state(current: Transaction) -> TransactionState:
    """The row's own state, unchanged."""
    return TransactionState(**{f: getattr(current, f) for f in _STATE_FIELDS})


def owned(folded: Folded, current: Transaction | None, remote: RemoteStart | None) -> Folded:
    """The fold with the transaction's owning token: the row's once it has one (a later
    Started or Updated naming another token is stored but changes no owner), else the
    remote start's (its Started may carry no idToken), else the events' first one."""
    if current is not None and current.id_token is not None:
        token = (current.id_token, current.id_token_type)
    elif remote is not None:
        token = (remote.id_token, remote.id_token_type)
    else:
        return folded
    return msgspec.structs.replace(folded, id_token=token[0], id_token_type=token[1])


def state_of(folded: Folded, ctx: DecideContext, current: Transaction | None) -> TransactionState:
    """The transaction row for a fold, priced with the context's tariff; an owner once
    found is kept."""
    return TransactionState(
        evse_id=folded.evse_id, connector_id=folded.connector_id,
        user_id=_kept(current, "user_id") or ctx.user_id,
        id_token=folded.id_token, id_token_type=folded.id_token_type,
        reservation_id=(ctx.reservation_id if ctx.reservation_id is not None
                        else _kept(current, "reservation_id")),
        tariff_id=ctx.tariff.id, remote_start_id=folded.remote_start_id,
        status=folded.status, charging_state=folded.charging_state,
        stopped_reason=folded.stopped_reason, started_at=folded.started_at,
        ended_at=folded.ended_at, meter_start_wh=folded.meter_start_wh,
        meter_stop_wh=folded.meter_stop_wh, energy_wh=folded.energy_wh,
        energy_export_wh=folded.energy_export_wh,
        cost_centavos=cost_centavos(ctx.tariff, folded.usage), currency=ctx.tariff.currency,
        last_seq_no=folded.last_seq_no, seq_gap=folded.incomplete)


def _kept(current: Transaction | None, name: str) -> UUID | None:
    """A link found earlier (user, reservation) survives events that cannot resolve it."""
    value = getattr(current, name, None)
    return value if isinstance(value, UUID) else None


def response_of(event: EventFacts, cost: int, ctx: DecideContext, *,
                ended: bool) -> dict[str, Any]:
    """TransactionEventResponse as stored: idTokenInfo if asked; totalCost only once the
    transaction has ended (OCPP 2.0.1 I05: the final cost, 0.00 meaning free; the running
    cost goes to the station by CostUpdated, never in an Updated's answer)."""
    response = TransactionEventResponse(
        total_cost=centavos_to_wire(cost) if ended else None,
        id_token_info=ctx.id_token_info if event.id_token is not None else None)
    out: dict[str, Any] = msgspec.to_builtins(response)
    return out


def outbox_of(ctx: DecideContext, current: Transaction | None, state: TransactionState,
              folded: Folded, event: EventFacts) -> tuple[OutboxMessage, ...]:
    """transaction.started when first seen, .completed when it first ends, else .updated."""
    payload = _payload(ctx, state, folded, event)
    out: list[OutboxMessage] = []
    if current is None:
        out.append(OutboxMessage(subjects.TRANSACTION_STARTED, payload))
    if state.status is TxStatus.ENDED and (current is None or current.status is TxStatus.ACTIVE):
        out.append(OutboxMessage(subjects.TRANSACTION_COMPLETED, payload))
    if not out:
        out.append(OutboxMessage(subjects.TRANSACTION_UPDATED, payload))
    return tuple(out)


def _payload(ctx: DecideContext, state: TransactionState, folded: Folded,
             event: EventFacts) -> dict[str, Any]:
    return {
        "stationId": ctx.station_id, "transactionId": ctx.station_transaction_id,
        "seqNo": event.seq_no, "eventType": event.event_type.value,
        "triggerReason": event.trigger_reason, "offline": event.offline,
        "status": state.status.value, "evseId": state.evse_id,
        "connectorId": state.connector_id,
        "userId": str(state.user_id) if state.user_id else None,
        "startedAt": folded.started_at.isoformat(),
        "endedAt": folded.ended_at.isoformat() if folded.ended_at else None,
        "energyWh": state.energy_wh, "energyExportWh": state.energy_export_wh,
        "costCentavos": state.cost_centavos, "currency": state.currency,
        "incomplete": folded.incomplete, **folded.missing.wire(),
    }
