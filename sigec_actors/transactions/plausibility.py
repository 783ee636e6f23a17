"""Pure plausibility limits on a new TransactionEvent: seqNo jumps, register size, energy jumps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise

import msgspec

from sigec_actors.domain.transactions import TxEventType
from sigec_actors.ocpp.errors import ErrorCode, PayloadError
from sigec_actors.transactions.errors import TransactionError
from sigec_actors.transactions.facts import EXPORT_REGISTER, IMPORT_REGISTER, EventFacts

SLACK_S = 60
"""Seconds of sampling and clock jitter allowed on top of the elapsed time (at max power)."""


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """The `[billing]` plausibility keys (see config/default.toml)."""

    max_seq_jump: int = 10_000
    max_register_wh: int = 1_000_000_000_000
    max_power_w: int = 1_000_000


class ImplausibleEvent(TransactionError, PayloadError):
    """A TransactionEvent refused before storage: answered CALLERROR PropertyConstraintViolation.

    `path` names the offending value, `value` is what the station sent and `limit` the bound it
    broke. Nothing is stored; the station's retries get the same answer.
    """

    def __init__(self, station_id: str, transaction_id: str, seq_no: int, path: str,
                 value: int, limit: int, problem: str) -> None:
        self.station_id = station_id
        self.transaction_id = transaction_id
        self.seq_no = seq_no
        self.value = value
        self.limit = limit
        self.problem = problem
        super().__init__(ErrorCode.PROPERTY_CONSTRAINT_VIOLATION,
                         f"{problem}: {value} (limit {limit}) - at `{path}`", path)


class Refusal(msgspec.Struct, frozen=True):
    """Why an event is implausible: the value at `path` broke `limit`."""

    path: str
    value: int
    limit: int
    problem: str


def refusal(event: EventFacts, history: Sequence[EventFacts], limits: Limits) -> Refusal | None:
    """The first limit `event` breaks given the transaction's stored events, or None."""
    return (_seq_jump(event, history, limits) or _register_size(event, limits)
            or _energy_jump(event, history, limits))


def _seq_jump(event: EventFacts, history: Sequence[EventFacts], limits: Limits) -> Refusal | None:
    """A seqNo more than max_seq_jump beyond the highest stored one (beyond -1 when nothing is
    stored: missing seqNos count from 0). A first event that is a Started sets the base."""
    if not history and event.event_type is TxEventType.STARTED:
        return None
    top = max((h.seq_no for h in history), default=-1)
    if event.seq_no - top > limits.max_seq_jump:
        return Refusal("$.seqNo", event.seq_no, top + limits.max_seq_jump,
                       f"seqNo jumps more than {limits.max_seq_jump} beyond the highest seen")
    return None


def _register_size(event: EventFacts, limits: Limits) -> Refusal | None:
    for sample in event.samples:
        if sample.wh is not None and sample.wh > limits.max_register_wh:
            return Refusal("$.meterValue", sample.wh, limits.max_register_wh,
                           "energy register above the plausible maximum (Wh)")
    return None


def _energy_jump(event: EventFacts, history: Sequence[EventFacts],
                 limits: Limits) -> Refusal | None:
    """A register rising faster than max_power_w (plus SLACK_S) allows between a reading of
    `event` and the reading next to it in time (stored or its own), same register."""
    for measurand in (IMPORT_REGISTER, EXPORT_REGISTER):
        mine = [(at, wh, True) for at, wh in _readings((event,), measurand)]
        if not mine:
            continue
        merged = sorted([(at, wh, False) for at, wh in _readings(history, measurand)] + mine)
        for (t0, wh0, new0), (t1, wh1, new1) in pairwise(merged):
            allowed = _allowed_wh(t0, t1, limits.max_power_w)
            if (new0 or new1) and wh1 - wh0 > allowed:
                return Refusal("$.meterValue", wh1 - wh0, allowed,
                               f"energy rises faster than {limits.max_power_w} W allows (Wh)")
    return None


def _readings(events: Sequence[EventFacts], measurand: str) -> list[tuple[datetime, int]]:
    return [(s.stored.sampled_at, s.wh) for e in events for s in e.samples
            if s.wh is not None and s.stored.measurand == measurand]


def _allowed_wh(t0: datetime, t1: datetime, max_power_w: int) -> int:
    """Wh a meter can add from t0 to t1 at `max_power_w`, with SLACK_S of jitter."""
    seconds = max((t1 - t0).total_seconds(), 0.0) + SLACK_S
    return int(max_power_w * seconds / 3600)
