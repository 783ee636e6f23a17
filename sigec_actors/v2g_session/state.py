"""The V2G session's functional core: lifecycle table and `decide(state, msg, now)`, no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, assert_never
from uuid import UUID

import msgspec
from msgspec.structs import replace

from sigec_actors.domain.events import (
    V2G_SESSION_COMPLETED,
    V2G_SESSION_STARTED,
    V2G_SESSION_UPDATED,
)
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.v2g_session.effects import (
    CheckPrice,
    Effect,
    Finish,
    Persist,
    SendClear,
    Settle,
)
from sigec_actors.v2g_session.errors import IllegalTransition
from sigec_actors.v2g_session.messages import (
    Abandoned,
    ClearAnswered,
    Decidable,
    MeterReported,
    MeterSample,
    PriceObserved,
    ProfileAnswered,
    StationPresence,
    StopRequested,
    Tick,
    TransactionEnded,
)


class Status(StrEnum):
    STARTING = "starting"
    ACTIVE = "active"
    STOPPING = "stopping"
    COMPLETED = "completed"
    FAILED = "failed"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.STARTING: frozenset({Status.ACTIVE, Status.FAILED}),
    Status.ACTIVE: frozenset({Status.STOPPING, Status.COMPLETED, Status.FAILED}),
    Status.STOPPING: frozenset({Status.COMPLETED, Status.FAILED}),
    Status.COMPLETED: frozenset(),
    Status.FAILED: frozenset(),
}
LIVE = frozenset({Status.STARTING, Status.ACTIVE, Status.STOPPING})
METERED = frozenset({Status.ACTIVE, Status.STOPPING})


class StopReason(StrEnum):
    MIN_SOC = "min_soc"
    ENERGY_CAP = "energy_cap"
    UNTIL = "until"
    PRICE_FLOOR = "price_below_floor"
    USER = "user"
    TRANSACTION_ENDED = "transaction_ended"
    OFFLINE = "station_offline"
    REJECTED = "rejected"
    START_TIMEOUT = "start_timeout"


class SessionPolicy(msgspec.Struct, frozen=True):
    """Node settings the core needs: how long a station may stay offline mid-discharge."""

    offline_grace_s: float = 300.0


class V2GState(msgspec.Struct, frozen=True, kw_only=True):
    """One discharge session as stored in v2g_sessions (see store.py for the columns)."""

    session_id: UUID
    user_id: UUID
    station_id: str
    evse_id: int
    transaction_id: UUID | None
    station_transaction_id: str
    mode: str
    profile_id: int
    max_discharge_w: int
    status: Status = Status.STARTING
    min_soc: int
    max_energy_wh: int | None = None
    until: datetime | None = None
    min_price_centavos_mwh: int | None = None
    start_soc: int | None = None
    current_soc: int | None = None
    first_register_wh: int | None = None
    first_sample_at: datetime | None = None
    last_sample_at: datetime | None = None
    exported_wh: int = 0
    power_w: int | None = None
    offline_since: datetime | None = None
    stop_reason: str | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    policy: SessionPolicy = msgspec.field(default_factory=SessionPolicy)


Step = tuple[V2GState, list[Effect]]


def transition(state: V2GState, to: Status) -> V2GState:
    """The state moved to `to`; IllegalTransition when the table does not allow it."""
    if to not in TRANSITIONS[state.status]:
        raise IllegalTransition(str(state.session_id), state.status.value, to.value)
    return replace(state, status=to)


def decide(state: V2GState, msg: Decidable, now: datetime) -> Step:  # noqa: PLR0911
    """The next state and the effects to run, in order; pure and deterministic."""
    match msg:
        case ProfileAnswered():
            return _profile_answered(state, msg, now)
        case MeterReported():
            return _metered(state, msg.samples, now)
        case TransactionEnded():
            return _complete(state, StopReason.TRANSACTION_ENDED, now)
        case StationPresence(online=online):
            return _presence(state, online, now)
        case Tick():
            return _tick(state, now)
        case PriceObserved(retail_centavos_per_mwh=price):
            floor = state.min_price_centavos_mwh
            if state.status is Status.ACTIVE and floor is not None and price < floor:
                return _stop(state, StopReason.PRICE_FLOOR, now)
            return state, []
        case StopRequested(reason=reason):
            return _stop(state, reason, now)
        case ClearAnswered():
            return _complete(state, state.stop_reason or StopReason.USER, now)
        case Abandoned(reason=reason):
            if state.status is Status.STARTING:
                return _stop(state, reason, now)
            return _complete(state, reason, now)  # nobody to clear the profile with
        case _:
            assert_never(msg)


def _profile_answered(state: V2GState, msg: ProfileAnswered, now: datetime) -> Step:
    if state.status is not Status.STARTING:
        return state, []
    if msg.accepted:
        new = replace(transition(state, Status.ACTIVE), started_at=now)
        return new, [Persist(events=(event(new, V2G_SESSION_STARTED, now),))]
    reason = f"{StopReason.REJECTED}: {msg.reason}" if msg.reason else StopReason.REJECTED.value
    new = replace(transition(state, Status.FAILED), stop_reason=reason, ended_at=now)
    return new, [Persist(events=(event(new, V2G_SESSION_COMPLETED, now),)), Finish()]


def _metered(state: V2GState, samples: tuple[MeterSample, ...], now: datetime) -> Step:
    if state.status not in METERED:
        return state, []  # late values after the end: the compensation is computed already
    kept: list[MeterSample] = []
    for sample in sorted(samples, key=lambda s: s.at):
        if state.first_sample_at is None and sample.export_wh is not None:
            state = replace(state, first_register_wh=sample.export_wh,
                            first_sample_at=sample.at)
        if state.first_sample_at is None or sample.at < state.first_sample_at:
            continue  # before the session's baseline: energy of another time, never paid
        kept.append(sample)
        state = _apply(state, sample)
    if not kept:
        return state, []
    reason = _limit_reached(state, now)
    if reason is not None and state.status is Status.ACTIVE:
        new, effects = _stop(state, reason, now)
        # one write: the samples go with the status change (the actor writes compare-and-set
        # on the status it started from, so a second write of this step would be refused)
        return new, [Persist(tuple(kept), p.events) if isinstance(p, Persist) else p
                     for p in effects]
    return state, [Persist(samples=tuple(kept), events=(event(state, V2G_SESSION_UPDATED, now),))]


def _apply(state: V2GState, sample: MeterSample) -> V2GState:
    """Fold one sample in: exported Wh never decreases; SoC and power follow the newest one."""
    exported = state.exported_wh
    if sample.export_wh is not None and state.first_register_wh is not None:
        exported = max(exported, sample.export_wh - state.first_register_wh)
    newest = state.last_sample_at is None or sample.at >= state.last_sample_at
    soc = sample.soc if sample.soc is not None and newest else state.current_soc
    power = sample.power_w if sample.power_w is not None and newest else state.power_w
    start_soc = state.start_soc if state.start_soc is not None else sample.soc
    last = sample.at if newest else state.last_sample_at
    return replace(state, exported_wh=exported, current_soc=soc, power_w=power,
                   start_soc=start_soc, last_sample_at=last)


def _limit_reached(state: V2GState, now: datetime) -> str | None:
    if state.current_soc is not None and state.current_soc <= state.min_soc:
        return StopReason.MIN_SOC
    if state.max_energy_wh is not None and state.exported_wh >= state.max_energy_wh:
        return StopReason.ENERGY_CAP
    if state.until is not None and now >= state.until:
        return StopReason.UNTIL
    return None


def _presence(state: V2GState, online: bool, now: datetime) -> Step:
    if state.status not in METERED:
        return state, []
    since = None if online else (state.offline_since or now)
    if since == state.offline_since:
        return state, []
    new = replace(state, offline_since=since)
    effects: list[Effect] = [Persist()]
    if online and state.status is Status.STOPPING:  # the Clear may have been lost with the link
        effects.append(SendClear(state.profile_id, state.evse_id))
    return new, effects


def _tick(state: V2GState, now: datetime) -> Step:
    if state.status not in METERED:
        return state, []
    since = state.offline_since
    if since is not None and now - since >= timedelta(seconds=state.policy.offline_grace_s):
        return _complete(state, StopReason.OFFLINE, now)  # nobody to clear the profile with
    if state.status is Status.STOPPING:
        return state, []
    if state.until is not None and now >= state.until:
        return _stop(state, StopReason.UNTIL, now)
    return state, [CheckPrice()] if state.min_price_centavos_mwh is not None else []


def _stop(state: V2GState, reason: str, now: datetime) -> Step:
    """Active: clear the profile (its answer completes the session). Starting: failed."""
    if state.status is Status.STARTING:
        new = replace(transition(state, Status.FAILED), stop_reason=reason, ended_at=now)
        return new, [Persist(events=(event(new, V2G_SESSION_COMPLETED, now),)), Finish()]
    if state.status is not Status.ACTIVE:
        return state, []  # stopping already, or over
    new = replace(transition(state, Status.STOPPING), stop_reason=reason)
    return new, [Persist(events=(event(new, V2G_SESSION_UPDATED, now),)),
                 SendClear(state.profile_id, state.evse_id)]


def _complete(state: V2GState, reason: str, now: datetime) -> Step:
    if state.status not in METERED:
        return state, []
    new = replace(transition(state, Status.COMPLETED), stop_reason=state.stop_reason or reason,
                  ended_at=now, power_w=0)
    return new, [Persist(events=(event(new, V2G_SESSION_COMPLETED, now),)), Settle(), Finish()]


def event(state: V2GState, subject: str, now: datetime) -> OutboxMessage:
    """The NATS event of a session change (through the outbox, with the state's write)."""
    return OutboxMessage(subject, payload_of(state, now))


def payload_of(state: V2GState, now: datetime) -> dict[str, Any]:
    return {"sessionId": str(state.session_id), "chargePointId": state.station_id,
            "evseId": state.evse_id, "userId": str(state.user_id), "status": state.status.value,
            "exportedWh": state.exported_wh, "currentSoc": state.current_soc,
            "powerW": state.power_w, "stopReason": state.stop_reason, "at": now.isoformat()}
