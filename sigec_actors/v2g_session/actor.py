"""The V2GSession actor: the imperative shell that runs `decide`'s effects as I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, assert_never
from uuid import UUID

from sigec_actors.adapters.pg import STORAGE_FAILURES
from sigec_actors.runtime import Actor, ExitReason
from sigec_actors.v2g_session.effects import (
    CheckPrice,
    Effect,
    Finish,
    Persist,
    SendClear,
    Settle,
)
from sigec_actors.v2g_session.messages import (
    ClearAnswered,
    Decidable,
    GetView,
    PriceObserved,
    SettleAgain,
    StopRequested,
    Tick,
    V2GSessionMsg,
)
from sigec_actors.v2g_session.ports import CurrentPrice, DischargeCommands, SessionStore, Settler
from sigec_actors.v2g_session.state import LIVE, Status, V2GState, decide


@dataclass(frozen=True, slots=True)
class V2GDeps:
    """What every V2GSession actor of a node needs (built once, see wiring.py)."""

    store: SessionStore
    settler: Settler
    commands: DischargeCommands
    prices: CurrentPrice | None = None
    check_interval_s: float = 30.0
    settle_retry_s: float = 30.0
    on_exit: Callable[[UUID], None] | None = None


class V2GSession(Actor[V2GSessionMsg]):
    """One discharge: meter values in, ClearChargingProfile and the payout out.

    The state lives in PostgreSQL: every step is written (compare-and-set on the status)
    before the next message, so a restarted incarnation reloads it and carries on.
    """

    __slots__ = ("_deps", "_session_id", "_settled", "_state")

    def __init__(self, session_id: UUID, deps: V2GDeps) -> None:
        self._session_id = session_id
        self._deps = deps
        self._state: V2GState | None = None
        self._settled = False

    @property
    def state(self) -> V2GState | None:
        return self._state

    async def on_start(self) -> None:
        """Reload the session; a finished one is only settled (a crash may have cut it short)."""
        self._state = await self._deps.store.load(self._session_id)
        state = self._state
        if state is None or state.status is Status.FAILED:
            self.ctx.stop()
            return
        if state.status is Status.COMPLETED:
            await self._settle(finish=True)
            return
        self.ctx.every(self._deps.check_interval_s, Tick())

    async def receive(self, msg: V2GSessionMsg) -> Any:
        """One message at a time; GetView and StopRequested answer the session state."""
        match msg:
            case GetView():
                return self._state
            case SettleAgain():
                await self._settle(finish=True)
            case _:
                await self._handle(msg)
        return self._state if isinstance(msg, StopRequested) else None

    async def on_stop(self, reason: ExitReason) -> None:
        if self._deps.on_exit is not None:
            self._deps.on_exit(self._session_id)

    def state_summary(self) -> str:
        s = self._state
        if s is None:
            return "not loaded"
        return f"{s.status.value}, {s.station_id} evse {s.evse_id}, {s.exported_wh} Wh"

    async def _handle(self, msg: Decidable) -> None:
        old = self._state
        if old is None:
            return
        new, effects = decide(old, msg, self.ctx.clock.now())
        if new is old and not effects:
            return
        self._state = new
        await self._run(old, effects)

    async def _run(self, old: V2GState, effects: list[Effect]) -> None:
        for effect in effects:
            match effect:
                case Persist(samples=samples, events=events):
                    assert self._state is not None
                    if not await self._deps.store.save(old.status, self._state, samples, events):
                        await self._moved()
                        return  # another writer moved it: its state is the truth
                case SendClear(profile_id=pid, evse_id=evse):
                    assert self._state is not None
                    ok, why = await self._deps.commands.clear(self._state.station_id, pid, evse)
                    await self._handle(ClearAnswered(ok, why))
                case CheckPrice():
                    await self._check_price()
                case Settle():
                    await self._settle(finish=False)
                case Finish():
                    if self._settled or (self._state and self._state.status is Status.FAILED):
                        self.ctx.stop()
                case _:
                    assert_never(effect)

    async def _moved(self) -> None:
        """Another writer (the sweep, another node's actor) moved the session: reload it; one
        that ended there is only settled (idempotent) and this actor stops."""
        self._state = state = await self._deps.store.load(self._session_id)
        self.ctx.log.warning("v2g.session_moved", session=str(self._session_id),
                             status=state.status.value if state else None)
        if state is None or state.status is Status.FAILED:
            self.ctx.stop()
        elif state.status is Status.COMPLETED:
            await self._settle(finish=True)

    async def _check_price(self) -> None:
        prices, state = self._deps.prices, self._state
        if prices is None or state is None:
            return
        retail = await prices.retail_now(state.station_id, self.ctx.clock.now())
        if retail is not None:
            await self._handle(PriceObserved(retail))

    async def _settle(self, *, finish: bool) -> None:
        state = self._state
        if state is None or state.status in LIVE:
            return
        try:
            outcome = await self._deps.settler.settle(state)
        except STORAGE_FAILURES as exc:  # storage down: the row stays calculated, retried later
            self.ctx.log.error("v2g.settle_failed", session=str(self._session_id),
                               error=repr(exc))
            self.ctx.after(self._deps.settle_retry_s, SettleAgain())
            return
        self._settled = True
        self.ctx.log.info("v2g.settled", session=str(self._session_id), status=outcome.status,
                          net_centavos=outcome.net_centavos)
        if finish:
            self.ctx.stop()
