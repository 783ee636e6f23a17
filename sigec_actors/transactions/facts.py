"""What one TransactionEvent says, flattened: parsing wire requests and meter samples to Wh."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import msgspec

from sigec_actors.domain.transactions import MeterValueIn, TransactionEventIn, TxEventType
from sigec_actors.ocpp.generated.v201 import SampledValue, TransactionEventRequest

IMPORT_REGISTER = "Energy.Active.Import.Register"
EXPORT_REGISTER = "Energy.Active.Export.Register"
_WH_PER_UNIT = {"Wh": Decimal(1), "kWh": Decimal(1000)}


class Sample(msgspec.Struct, frozen=True, kw_only=True):
    """One sampled value: as stored (`stored`) and, for energy registers, in whole Wh."""

    stored: MeterValueIn
    wh: int | None = None  # set for total (phase-less) energy registers in Wh/kWh


class EventFacts(msgspec.Struct, frozen=True, kw_only=True):
    """The parts of a TransactionEventRequest the transaction fold uses."""

    seq_no: int
    event_type: TxEventType
    timestamp: datetime
    trigger_reason: str
    offline: bool = False
    evse_id: int | None = None
    connector_id: int | None = None
    id_token: str | None = None
    id_token_type: str | None = None
    charging_state: str | None = None
    stopped_reason: str | None = None
    remote_start_id: int | None = None
    reservation_id: int | None = None
    samples: tuple[Sample, ...] = ()


def facts_of(request: TransactionEventRequest) -> EventFacts:
    """Flatten a decoded TransactionEventRequest."""
    info = request.transaction_info
    evse = request.evse
    token = request.id_token
    evse_id = evse.id if evse else None
    return EventFacts(
        seq_no=request.seq_no, event_type=TxEventType(request.event_type.value),
        timestamp=request.timestamp, trigger_reason=request.trigger_reason.value,
        offline=bool(request.offline), evse_id=evse_id,
        connector_id=evse.connector_id if evse else None,
        id_token=token.id_token if token else None,
        id_token_type=token.type.value if token else None,
        charging_state=info.charging_state.value if info.charging_state else None,
        stopped_reason=info.stopped_reason.value if info.stopped_reason else None,
        remote_start_id=info.remote_start_id, reservation_id=request.reservation_id,
        samples=tuple(_sample(sv, mv.timestamp, evse_id)
                      for mv in request.meter_value or () for sv in mv.sampled_value))


def request_of_payload(payload: Mapping[str, Any]) -> TransactionEventRequest:
    """Decode a stored wire payload (camelCase builtins) back into the typed request."""
    return msgspec.convert(dict(payload), TransactionEventRequest, strict=False)


def event_in(station_id: str, request: TransactionEventRequest) -> TransactionEventIn:
    """The store's record of a request: keyed by (station, transactionId, seqNo)."""
    return TransactionEventIn(
        station_id=station_id, station_transaction_id=request.transaction_info.transaction_id,
        seq_no=request.seq_no, event_type=TxEventType(request.event_type.value),
        occurred_at=request.timestamp, payload=msgspec.to_builtins(request),
        trigger_reason=request.trigger_reason.value, offline=bool(request.offline))


def to_wh(value: Decimal, unit: str | None, multiplier: int | None) -> int | None:
    """An energy reading in whole Wh (half to even), or None for a unit that is not energy."""
    factor = _WH_PER_UNIT.get(unit or "Wh")
    if factor is None:
        return None
    scaled = value.scaleb(multiplier or 0) * factor
    return int(scaled.to_integral_value(rounding=ROUND_HALF_EVEN))


def _sample(sv: SampledValue, at: datetime, evse_id: int | None) -> Sample:
    uom = sv.unit_of_measure
    # repr() of the decoded float is the shortest text that round-trips: the station's digits.
    value = Decimal(repr(sv.value))
    measurand = sv.measurand.value if sv.measurand else IMPORT_REGISTER
    stored = MeterValueIn(
        sampled_at=at, value=value, measurand=measurand, unit=uom.unit if uom else None,
        phase=sv.phase.value if sv.phase else None,
        location=sv.location.value if sv.location else None,
        context=sv.context.value if sv.context else None, evse_id=evse_id)
    wh = None
    if measurand in (IMPORT_REGISTER, EXPORT_REGISTER) and sv.phase is None and (
            stored.location in (None, "Outlet")):
        wh = to_wh(value, uom.unit if uom else None, uom.multiplier if uom else None)
    return Sample(stored=stored, wh=wh)
