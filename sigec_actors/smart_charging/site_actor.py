"""The Site actor: one per location with a limit, the shell around `site.decide`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

import msgspec
from msgspec.structs import replace

from sigec_actors.runtime import Actor
from sigec_actors.smart_charging.site import (
    LimitsChanged,
    Presence,
    ProfileRefused,
    SendDefault,
    SendLimit,
    SessionSeen,
    SiteEvent,
    SiteState,
    decide,
    defaults_step,
)
from sigec_actors.smart_charging.store import ActiveSession, SiteLimits


class GetLoad(msgspec.Struct, frozen=True):
    """Ask: the site's LoadView."""


class Reload(msgspec.Struct, frozen=True, tag=True):
    """The limits or the external limits changed in PostgreSQL: read them again."""


SiteMsg = SiteEvent | GetLoad | Reload


class EvseLoad(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    charge_point_id: str
    evse_id: int
    allocated_w: int
    measured_w: int | None
    transaction_id: str | None = None
    online: bool = True


class LoadView(msgspec.Struct, frozen=True, kw_only=True, rename="camel"):
    """GET /admin/locations/{id}/load."""

    limit_w: int
    allocated_w: int
    measured_w: int
    external_w: int
    strategy: str
    min_per_evse_w: int
    evses: list[EvseLoad]


class SiteStore(Protocol):
    """What a site actor reads (PgSmartCharging)."""

    async def site(self, location_id: UUID) -> SiteLimits | None: ...
    async def active_sessions(self, location_id: UUID) -> list[ActiveSession]: ...
    async def external_limits_w(self, location_id: UUID) -> int: ...
    async def online_stations(self, location_id: UUID) -> list[str]: ...


@dataclass(frozen=True, slots=True)
class SiteDeps:
    store: SiteStore
    send: Callable[[SendLimit], Awaitable[bool]]
    """Send one EVSE's site TxProfile; True when the station accepted it."""
    record: Callable[[list[SendLimit]], Awaitable[None]] | None = None
    """Store what a re-allocation's stations accepted, in one go (after its sends)."""
    send_default: Callable[[SendDefault], Awaitable[bool]] | None = None
    """Send a station the site's TxDefaultProfile (the floor); True when accepted."""


def view_of(state: SiteState) -> LoadView:
    evses = []
    for key, evse in sorted(state.evses.items(), key=lambda kv: kv[1].order):
        measured = -evse.export_w if evse.export_w else evse.import_w
        evses.append(EvseLoad(charge_point_id=key[0], evse_id=key[1],
                              allocated_w=state.sent.get(key, 0), measured_w=measured,
                              transaction_id=evse.transaction_id,
                              online=key[0] not in state.offline))
    return LoadView(limit_w=state.policy.limit_w,
                    allocated_w=sum(e.allocated_w for e in evses),
                    measured_w=sum(e.measured_w or 0 for e in evses),
                    external_w=state.external_w, strategy=state.policy.strategy.value,
                    min_per_evse_w=state.policy.floor_w, evses=evses)


class Site(Actor[SiteMsg]):
    """Keeps the location's stations within its limit. Its state is rebuilt at start from
    PostgreSQL (limits and active transactions); meter values and presence arrive as events."""

    __slots__ = ("_deps", "_location_id", "_state")

    def __init__(self, location_id: UUID, deps: SiteDeps) -> None:
        self._location_id = location_id
        self._deps = deps
        self._state: SiteState | None = None

    async def on_start(self) -> None:
        limits = await self._deps.store.site(self._location_id)
        if limits is None:
            self.ctx.stop()
            return
        external = await self._deps.store.external_limits_w(self._location_id)
        self._state = SiteState(policy=limits.policy, max_per_evse_w=limits.max_per_evse_w,
                                external_w=external)
        for station_id in await self._deps.store.online_stations(self._location_id):
            await self._handle(Presence(station_id, True))  # gets the floor as its default
        for session in await self._deps.store.active_sessions(self._location_id):
            await self._handle(SessionSeen(session.charge_point_id, session.evse_id,
                                           session.transaction_id))
            if not session.online:
                await self._handle(Presence(session.charge_point_id, False))

    async def receive(self, msg: SiteMsg) -> Any:
        match msg:
            case GetLoad():
                return None if self._state is None else view_of(self._state)
            case Reload():
                limits = await self._deps.store.site(self._location_id)
                if limits is None:
                    self.ctx.stop()
                    return None
                external = await self._deps.store.external_limits_w(self._location_id)
                await self._handle(LimitsChanged(limits.policy, limits.max_per_evse_w,
                                                 external))
            case _:
                await self._handle(msg)
        return None

    def state_summary(self) -> str:
        s = self._state
        if s is None:
            return "not loaded"
        return f"{len(s.evses)} sessions, {sum(s.sent.values())}/{s.policy.limit_w} W"

    async def _handle(self, event: SiteEvent) -> None:
        assert self._state is not None
        self._state, defaults = defaults_step(self._state, event)
        if defaults and self._deps.send_default is not None:
            answers = await asyncio.gather(*(self._deps.send_default(d) for d in defaults))
            refused = {d.station_id for d, ok in zip(defaults, answers, strict=True) if not ok}
            if refused:  # sent again at its next session or reconnect
                self._state = replace(self._state, defaults={
                    k: w for k, w in self._state.defaults.items() if k not in refused})
        self._state, sends = decide(self._state, event)
        if not sends:
            return
        decreases = [s for s in sends if s.watts < s.previous_w]
        increases = [s for s in sends if s.watts >= s.previous_w]
        accepted: list[SendLimit] = []
        for batch in (decreases, increases):  # every decrease is in before any increase
            results = await asyncio.gather(*(self._deps.send(s) for s in batch))
            for send, ok in zip(batch, results, strict=True):
                if ok:
                    accepted.append(send)
                else:
                    self._state, _ = decide(self._state, ProfileRefused(
                        (send.station_id, send.evse_id), send.watts))
        if accepted and self._deps.record is not None:
            await self._deps.record(accepted)
