"""A site's pure core: sessions, presence and meter values in, TxProfiles to send out."""

from __future__ import annotations

import msgspec
from msgspec.structs import replace

from sigec_actors.smart_charging.allocation import (
    Demand,
    EvseKey,
    SitePolicy,
    allocate,
    changed,
)

DEFAULT_MAX_PER_EVSE_W = 22_000


class SessionSeen(msgspec.Struct, frozen=True, tag=True):
    """A transaction runs on an EVSE (its Started, or any event naming the EVSE)."""

    station_id: str
    evse_id: int
    transaction_id: str


class SessionEnded(msgspec.Struct, frozen=True, tag=True):
    station_id: str
    transaction_id: str


class Metered(msgspec.Struct, frozen=True, tag=True):
    """The power a transaction draws (import) or feeds in (export) now, in W."""

    station_id: str
    transaction_id: str
    import_w: int | None
    export_w: int | None


class Presence(msgspec.Struct, frozen=True, tag=True):
    station_id: str
    online: bool


class EvMaximum(msgspec.Struct, frozen=True, tag=True):
    """The car on an EVSE said how much it can take (NotifyEVChargingNeeds)."""

    station_id: str
    evse_id: int
    max_w: int


class LimitsChanged(msgspec.Struct, frozen=True, tag=True):
    policy: SitePolicy
    max_per_evse_w: int
    external_w: int = 0


class ProfileRefused(msgspec.Struct, frozen=True, tag=True):
    """The station did not take an allocation: keep it out of `sent` so it is tried again."""

    key: tuple[str, int]
    watts: int


SiteEvent = SessionSeen | SessionEnded | Metered | Presence | EvMaximum | LimitsChanged \
    | ProfileRefused


class SendLimit(msgspec.Struct, frozen=True):
    """Send the EVSE's site TxProfile with `watts` for its transaction."""

    station_id: str
    evse_id: int
    transaction_id: str
    watts: int
    previous_w: int = 0
    """What was sent before (nothing: the EVSE's max, the car may draw it): below it, a
    decrease, sent before any increase."""


class Evse(msgspec.Struct, frozen=True, kw_only=True):
    transaction_id: str
    order: int
    import_w: int | None = None
    export_w: int | None = None
    max_w: int | None = None


class SiteState(msgspec.Struct, frozen=True, kw_only=True):
    """What the site knows: its policy, sessions, who is offline, what was sent."""

    policy: SitePolicy
    max_per_evse_w: int = DEFAULT_MAX_PER_EVSE_W
    external_w: int = 0
    evses: dict[EvseKey, Evse] = msgspec.field(default_factory=dict)
    offline: frozenset[str] = frozenset()
    sent: dict[EvseKey, int] = msgspec.field(default_factory=dict)
    next_order: int = 0
    defaults: dict[str, int] = msgspec.field(default_factory=dict)
    """Station -> the TxDefaultProfile (W) it holds from this site."""

    def demands(self) -> list[Demand]:
        """The allocation's input: a discharge is negative load, an offline station keeps
        its last allocation (assumed in use until its own offline profile applies)."""
        out = []
        for key, evse in self.evses.items():
            fixed = None
            if evse.export_w:
                fixed = -evse.export_w
            elif key[0] in self.offline:
                fixed = self.sent.get(key, self.max_per_evse_w)
            out.append(Demand(key=key, max_w=min(evse.max_w or self.max_per_evse_w,
                                                 self.max_per_evse_w),
                              order=evse.order, fixed_w=fixed))
        if self.external_w:
            out.append(Demand(key=("", 0), max_w=0, fixed_w=self.external_w))
        return out

    def allocation(self) -> dict[EvseKey, int]:
        return allocate(self.policy, self.demands())



Step = tuple[SiteState, list[SendLimit]]


def decide(state: SiteState, event: SiteEvent) -> Step:
    """The new state and the limits to send: only the EVSEs whose allocation moved, the
    decreases first (the actor sends them before any increase, so the sum never overshoots).
    An event that changes nothing the allocation reads returns `state` itself and no sends."""
    if isinstance(event, Metered):
        state = observe(state, event)  # the import is shown in the load, never allocated
    new = _apply(state, event)
    if new is state:
        return state, []
    allocation = new.allocation()
    moved = changed(new.sent, {k: w for k, w in allocation.items() if k[0] not in new.offline})
    before = new.sent
    sends = sorted(
        (SendLimit(k[0], k[1], new.evses[k].transaction_id, w,
                   before.get(k, new.max_per_evse_w))
         for k, w in moved.items()),
        key=lambda s: (s.watts - s.previous_w, s.station_id, s.evse_id))
    sent = {k: w for k, w in before.items() if k in new.evses}
    sent.update(moved)
    return replace(new, sent=sent), sends


def _find(state: SiteState, station_id: str, transaction_id: str) -> EvseKey | None:
    for key, evse in state.evses.items():
        if key[0] == station_id and evse.transaction_id == transaction_id:
            return key
    return None


def _seen(state: SiteState, key: EvseKey, tx: str) -> SiteState:
    old = state.evses.get(key)
    if old is not None and old.transaction_id == tx:
        return state
    evse = Evse(transaction_id=tx, order=state.next_order)
    sent = {k: w for k, w in state.sent.items() if k != key}  # a new car: send again
    return replace(state, evses={**state.evses, key: evse}, sent=sent,
                   next_order=state.next_order + 1)


def _ended(state: SiteState, station_id: str, tx: str) -> SiteState:
    gone = _find(state, station_id, tx)
    if gone is None:
        return state
    return replace(state, evses={k: e for k, e in state.evses.items() if k != gone},
                   sent={k: w for k, w in state.sent.items() if k != gone})


def _apply(state: SiteState, event: SiteEvent) -> SiteState:  # noqa: PLR0911 -- one per event
    match event:
        case SessionSeen(station_id=sid, evse_id=evse_id, transaction_id=tx):
            return _seen(state, (sid, evse_id), tx)
        case SessionEnded(station_id=sid, transaction_id=tx):
            return _ended(state, sid, tx)
        case Metered(station_id=sid, transaction_id=tx, export_w=exp):
            at = _find(state, sid, tx)
            if at is None or exp is None or exp == (state.evses[at].export_w or 0):
                return state
            evse = replace(state.evses[at], export_w=exp)
            return replace(state, evses={**state.evses, at: evse})
        case Presence(station_id=sid, online=online):
            # online (connected, or booted: only then may the CSMS send it anything): what
            # it holds is sent again; offline: its last allocation is assumed in use
            offline = state.offline - {sid} if online else state.offline | {sid}
            sent = state.sent if not online else {
                k: w for k, w in state.sent.items() if k[0] != sid}
            if offline == state.offline and sent == state.sent:
                return state
            return replace(state, offline=offline, sent=sent)
        case EvMaximum(station_id=sid, evse_id=evse_id, max_w=max_w):
            old = state.evses.get((sid, evse_id))
            if old is None or old.max_w == max_w:
                return state
            return replace(state, evses={**state.evses, (sid, evse_id): replace(
                old, max_w=max_w)})
        case LimitsChanged(policy=policy, max_per_evse_w=max_w, external_w=external):
            return replace(state, policy=policy, max_per_evse_w=max_w, external_w=external)
        case ProfileRefused(key=key, watts=watts):
            if state.sent.get(key) != watts:
                return state
            return replace(state, sent={k: w for k, w in state.sent.items() if k != key})


def observe(state: SiteState, event: Metered) -> SiteState:
    """A meter value's import power kept for the load view (no re-allocation)."""
    key = _find(state, event.station_id, event.transaction_id)
    if key is None or event.import_w is None:
        return state
    evse = replace(state.evses[key], import_w=event.import_w)
    return replace(state, evses={**state.evses, key: evse})


class SendDefault(msgspec.Struct, frozen=True):
    """Send the station the site's TxDefaultProfile: a new session starts at `watts` (the
    floor) instead of the car's maximum until its first allocation arrives."""

    station_id: str
    watts: int


def defaults_step(state: SiteState, event: SiteEvent) -> tuple[SiteState, list[SendDefault]]:
    """The TxDefaultProfiles to send: to a station seen online or with a session that does not
    hold the site's floor (a reconnect sends it again), to every station when the floor moves.
    """
    floor = event.policy.floor_w if isinstance(event, LimitsChanged) else state.policy.floor_w
    match event:
        case Presence(station_id=sid, online=True):
            stations = [sid]
        case SessionSeen(station_id=sid) if state.defaults.get(sid) != floor:
            stations = [sid]
        case LimitsChanged():
            stations = [sid for sid, w in state.defaults.items() if w != floor]
        case _:
            return state, []
    stations = [sid for sid in stations if sid not in state.offline or isinstance(
        event, Presence)]
    if not stations:
        return state, []
    defaults = {**state.defaults, **dict.fromkeys(stations, floor)}
    return replace(state, defaults=defaults), [SendDefault(sid, floor) for sid in stations]
