"""Interim TransactionEvent handling: store idempotently, acknowledge (billing comes later)."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import Any

import msgspec
from msgspec.structs import replace

from sigec_actors.charge_point.ports import Authorizer
from sigec_actors.domain.transactions import (
    Decide,
    MeterValueIn,
    Transaction,
    TransactionEventIn,
    TransactionState,
    TxDecision,
    TxEventType,
    TxStatus,
)
from sigec_actors.ocpp.generated.v201 import (
    TransactionEventEnum,
    TransactionEventRequest,
    TransactionEventResponse,
)
from sigec_actors.ports import TransactionEventStore

_STATE_FIELDS = TransactionState.__struct_fields__


class StoreTransactionEvents:
    """TransactionEventHandler on a TransactionEventStore: dedupe on (station, tx, seqNo)."""

    def __init__(self, store: TransactionEventStore, authorizer: Authorizer) -> None:
        self._store = store
        self._authorizer = authorizer

    async def handle(self, station_id: str,
                     request: TransactionEventRequest) -> TransactionEventResponse:
        response: dict[str, Any] = {}
        if request.id_token is not None and request.event_type is TransactionEventEnum.STARTED:
            info = await self._authorizer.authorize(station_id, request.id_token)
            response["idTokenInfo"] = msgspec.to_builtins(info)
        event = TransactionEventIn(
            station_id=station_id, station_transaction_id=request.transaction_info.transaction_id,
            seq_no=request.seq_no, event_type=TxEventType(request.event_type.value),
            occurred_at=request.timestamp, payload=msgspec.to_builtins(request),
            trigger_reason=request.trigger_reason.value, offline=bool(request.offline))
        result = await self._store.record(event, transaction_decide(request, response))
        return msgspec.convert(result.response, TransactionEventResponse)


def transaction_decide(request: TransactionEventRequest, response: dict[str, Any]) -> Decide:
    """The pure rule storing one event: track evse, token, times, seqNo gaps; Ended is final."""

    def decide(current: Transaction | None) -> TxDecision:
        base = TransactionState() if current is None else TransactionState(
            **{f: getattr(current, f) for f in _STATE_FIELDS})
        info = request.transaction_info
        ended = base.status is TxStatus.ENDED or request.event_type is TransactionEventEnum.ENDED
        last = base.last_seq_no
        state = replace(
            base,
            evse_id=request.evse.id if request.evse else base.evse_id,
            connector_id=(request.evse.connector_id if request.evse and request.evse.connector_id
                          else base.connector_id),
            id_token=request.id_token.id_token if request.id_token else base.id_token,
            id_token_type=request.id_token.type.value if request.id_token else base.id_token_type,
            remote_start_id=info.remote_start_id or base.remote_start_id,
            charging_state=_value(info.charging_state) or base.charging_state,
            stopped_reason=_value(info.stopped_reason) or base.stopped_reason,
            started_at=base.started_at or request.timestamp,
            status=TxStatus.ENDED if ended else TxStatus.ACTIVE,
            ended_at=(base.ended_at or request.timestamp) if ended else None,
            last_seq_no=request.seq_no if last is None else max(last, request.seq_no),
            seq_gap=base.seq_gap or (last is not None and request.seq_no > last + 1))
        return TxDecision(state=state, response=response, meter_values=_meter_values(request))

    return decide


def _value(member: StrEnum | None) -> str | None:
    return None if member is None else member.value


def _meter_values(request: TransactionEventRequest) -> tuple[MeterValueIn, ...]:
    evse_id = request.evse.id if request.evse else None
    return tuple(
        MeterValueIn(sampled_at=mv.timestamp, value=Decimal(repr(sv.value)),
                     measurand=sv.measurand.value if sv.measurand else
                     "Energy.Active.Import.Register",
                     unit=sv.unit_of_measure.unit if sv.unit_of_measure else None,
                     phase=sv.phase.value if sv.phase else None,
                     location=sv.location.value if sv.location else None,
                     context=sv.context.value if sv.context else None, evse_id=evse_id)
        for mv in request.meter_value or () for sv in mv.sampled_value)
