"""Pure fold of a transaction's events (in seqNo order) into its state: order-independent."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TypeVar

import msgspec

from sigec_actors.domain.transactions import TxEventType, TxStatus
from sigec_actors.transactions.facts import EXPORT_REGISTER, IMPORT_REGISTER, EventFacts
from sigec_actors.transactions.gaps import SeqGaps, seq_gaps
from sigec_actors.transactions.tariffs import Usage

CHARGING = "Charging"
T = TypeVar("T")


class Folded(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the events of one transaction say, whatever order they arrived in.

    Times are the events' own timestamps (offline events included), never arrival times.
    `incomplete`: no Started seen, or seqNos are not contiguous from it: never billed silently.
    `missing`: seqNos not seen, from the lowest one (from 0 without a Started) to the highest.
    Events after the first Ended (higher seqNo) are stored but change nothing: the session
    ended there, so a late Updated can neither add energy nor open a gap after billing.
    """

    status: TxStatus
    started_at: datetime
    ended_at: datetime | None
    last_at: datetime
    evse_id: int | None
    connector_id: int | None
    id_token: str | None
    id_token_type: str | None
    charging_state: str | None
    stopped_reason: str | None
    remote_start_id: int | None
    reservation_id: int | None
    meter_start_wh: int | None
    meter_stop_wh: int | None
    energy_wh: int
    energy_export_wh: int
    last_seq_no: int
    incomplete: bool
    missing: SeqGaps
    usage: Usage


def unique_by_seq(events: Iterable[EventFacts]) -> list[EventFacts]:
    """Events sorted by seqNo; for a repeated seqNo the first one given wins (as stored)."""
    seen: dict[int, EventFacts] = {}
    for ev in events:
        seen.setdefault(ev.seq_no, ev)
    return [seen[k] for k in sorted(seen)]


def fold(events: Iterable[EventFacts]) -> Folded:
    """Fold a non-empty set of events of one transaction (duplicates and order do not matter)."""
    evs = unique_by_seq(events)
    if not evs:
        raise ValueError("fold needs at least one event")
    ended = _first(evs, TxEventType.ENDED)
    if ended is not None:
        evs = [e for e in evs if e.seq_no <= ended.seq_no]
    started = _first(evs, TxEventType.STARTED)
    started_at = started.timestamp if started else min(e.timestamp for e in evs)
    last_at = max(e.timestamp for e in evs)
    ended_at = max(ended.timestamp, started_at) if ended else None
    imported = _register(evs, IMPORT_REGISTER)
    exported = _register(evs, EXPORT_REGISTER)
    missing = _missing(evs, started)
    token_ev = _first_with(evs, lambda e: e.id_token is not None)
    return Folded(
        status=TxStatus.ENDED if ended else TxStatus.ACTIVE,
        started_at=started_at, ended_at=ended_at, last_at=last_at,
        evse_id=_last(evs, lambda e: e.evse_id), connector_id=_last(evs, lambda e: e.connector_id),
        id_token=token_ev.id_token if token_ev else None,
        id_token_type=token_ev.id_token_type if token_ev else None,
        charging_state=_last(evs, lambda e: e.charging_state),
        stopped_reason=(ended.stopped_reason if ended and ended.stopped_reason
                        else _last(evs, lambda e: e.stopped_reason)),
        remote_start_id=_last(evs, lambda e: e.remote_start_id),
        reservation_id=_last(evs, lambda e: e.reservation_id),
        meter_start_wh=imported[0] if imported else None,
        meter_stop_wh=imported[-1] if imported else None,
        energy_wh=_delta(imported), energy_export_wh=_delta(exported),
        last_seq_no=evs[-1].seq_no,
        incomplete=started is None or bool(missing), missing=missing,
        usage=Usage(energy_wh=_delta(imported),
                    **_times(evs, started_at, ended_at or last_at)))


def _first(evs: Sequence[EventFacts], kind: TxEventType) -> EventFacts | None:
    return next((e for e in evs if e.event_type is kind), None)


def _first_with(evs: Sequence[EventFacts],
                test: Callable[[EventFacts], bool]) -> EventFacts | None:
    return next((e for e in evs if test(e)), None)


def _last(evs: Sequence[EventFacts], get: Callable[[EventFacts], T | None]) -> T | None:
    """The value `get` finds in the latest event (by seqNo) that carries one."""
    for ev in reversed(evs):
        value = get(ev)
        if value is not None:
            return value
    return None


def _register(evs: Sequence[EventFacts], measurand: str) -> list[int]:
    """Register readings in Wh ordered by sample time (seqNo, then value break ties)."""
    readings = [(s.stored.sampled_at, e.seq_no, s.wh) for e in evs for s in e.samples
                if s.wh is not None and s.stored.measurand == measurand]
    return [wh for _, _, wh in sorted(readings)]


def _delta(readings: list[int]) -> int:
    """Energy from register readings: last minus first, never negative (a reset counts 0)."""
    return max(readings[-1] - readings[0], 0) if readings else 0


def _missing(evs: Sequence[EventFacts], started: EventFacts | None) -> SeqGaps:
    """Ranges, never a list: a seqNo of 20,000,000 costs one range, not 20 million ints."""
    return seq_gaps((e.seq_no for e in evs), evs[0].seq_no if started else 0)


def _times(evs: Sequence[EventFacts], start: datetime, end: datetime) -> dict[str, int]:
    """Seconds charging and idle after the last charging interval, from chargingState changes.

    A station that never reports chargingState is charging for the whole session. Time before
    the first report, and suspended time between charging intervals, is neither.
    """
    points = sorted((e.timestamp, e.seq_no, e.charging_state) for e in evs
                    if e.charging_state is not None)
    total = max(int((end - start).total_seconds()), 0)
    if not points:
        return {"charging_s": total, "idle_s": 0}
    charging = 0.0
    last_charging_end: datetime | None = None
    for i, (at, _, state) in enumerate(points):
        seg_start = min(max(at, start), end)
        seg_end = min(max(points[i + 1][0] if i + 1 < len(points) else end, start), end)
        if state == CHARGING:
            charging += (seg_end - seg_start).total_seconds()
            last_charging_end = seg_end
    idle = 0.0
    if last_charging_end is not None and points[-1][2] != CHARGING:
        idle = (end - last_charging_end).total_seconds()
    return {"charging_s": int(charging), "idle_s": max(int(idle), 0)}
