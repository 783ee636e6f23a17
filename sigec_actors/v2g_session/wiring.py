"""Builds a node's V2G sessions: actors, settlement, the start service and cross-node control."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import msgspec
import structlog

from sigec_actors.alerts.ports import Alerts
from sigec_actors.config import V2GConfig
from sigec_actors.domain.errors import BusError
from sigec_actors.errors import SigecError
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import BusMessage, DbPool, EventBus, LedgerRepository, Subscription
from sigec_actors.runtime import ActorDead, AskTimeout, MailboxFull, SupervisorAt
from sigec_actors.transactions.ports import Commander
from sigec_actors.v2g.pricing import GridPrices, RetailPolicy, Submarket
from sigec_actors.v2g_session.actor import V2GDeps
from sigec_actors.v2g_session.messages import StopRequested
from sigec_actors.v2g_session.pay_store import PgCompensations
from sigec_actors.v2g_session.queries import PgV2GQueries
from sigec_actors.v2g_session.service import DischargeService
from sigec_actors.v2g_session.sessions import V2GSessions
from sigec_actors.v2g_session.settle import Settlement
from sigec_actors.v2g_session.state import SessionPolicy, V2GState
from sigec_actors.v2g_session.store import PgSessionStore

log = structlog.get_logger("v2g")
CONTROL = "sigec.v2g.control"
"""Core NATS subject: resume a station's sessions, or stop one, on the node that runs it."""
CONTROL_TIMEOUT_S = 15.0
EXTRAS_KEY = "v2g_sessions"


def utcnow() -> datetime:
    return datetime.now(UTC)


def retail_policy(cfg: V2GConfig) -> RetailPolicy:
    return RetailPolicy(version=cfg.retail_policy_version, alpha_ppm=cfg.retail_alpha_ppm,
                        beta_centavos_per_mwh=cfg.retail_beta_centavos_per_mwh,
                        margin_bp=cfg.margin_bp)


class ClearThrough:
    """DischargeCommands through the node's command channel (any node holding the station);
    `commander` is looked up at each use (the node builds its router after its sessions)."""

    def __init__(self, commander: Callable[[], Commander]) -> None:
        self._commander = commander

    async def clear(self, station_id: str, profile_id: int, evse_id: int) -> tuple[bool, str]:
        request = v201.ClearChargingProfileRequest(charging_profile_id=profile_id)
        try:
            answer = await self._commander().send(station_id, request)
        except (SigecError, ActorDead, MailboxFull) as exc:  # offline, timeout, CALLERROR
            return False, type(exc).__name__
        assert isinstance(answer, v201.ClearChargingProfileResponse)
        return answer.status is v201.ClearChargingProfileStatusEnum.ACCEPTED, answer.status.value


class RetailNow:
    """CurrentPrice: the retail price of the station's submarket for the hour of `now`."""

    def __init__(self, prices: GridPrices, rows: PgCompensations, policy: RetailPolicy,
                 default: Submarket) -> None:
        self._prices, self._rows, self._policy, self._default = prices, rows, policy, default

    async def retail_now(self, station_id: str, now: datetime) -> int | None:
        submarket = await self._rows.submarket(station_id) or self._default
        price, _stale = await self._prices.current(submarket, now)
        return None if price is None else self._policy.price_centavos_per_mwh(
            price.pld_centavos_per_mwh)


class V2GWiring:
    """The node's V2G session objects; `holds(station)` says whether this node serves it."""

    def __init__(self, pool: DbPool, cfg: V2GConfig, supervisor: SupervisorAt, *,
                 prices: GridPrices, ledger: LedgerRepository, jobs: Callable[[], Commander],
                 bus: EventBus, holds: Callable[[str], bool], alerts: Alerts | None = None,
                 policy: SessionPolicy | None = None) -> None:
        self.policy = policy or SessionPolicy(offline_grace_s=cfg.offline_grace_s)
        self.store = PgSessionStore(pool, self.policy)
        self.rows = PgCompensations(pool)
        self.queries = PgV2GQueries(pool)
        retail = retail_policy(cfg)
        default = Submarket(cfg.default_submarket)
        self.settlement = Settlement(self.store, self.rows, prices, ledger, retail,
                                     default_submarket=default, clock=utcnow, alerts=alerts)
        self.sessions = V2GSessions(supervisor, V2GDeps(
            self.store, self.settlement, ClearThrough(jobs),
            RetailNow(prices, self.rows, retail, default),
            check_interval_s=cfg.session_check_interval_s))
        self._bus, self._holds = bus, holds
        self._sub: Subscription | None = None

    def service(self, commander: Commander) -> DischargeService:
        """The start/stop service sending the profile through `commander` (the REST caller's)."""
        return DischargeService(self.store, self.queries, commander, clock=utcnow,
                                policy=self.policy, run=self.run, stop=self.stop)

    async def run(self, state: V2GState) -> None:
        """Run the session's actor where its station is held (here, or told over the bus)."""
        if self._holds(state.station_id):
            await self.sessions.run(state)
            return
        await self._bus.publish(CONTROL, msgspec.json.encode(
            {"op": "resume", "stationId": state.station_id}))

    async def stop(self, session_id: UUID, reason: str) -> V2GState | None:
        """Stop a session through its actor, on whichever node runs it (or here)."""
        if self.sessions.ref(session_id) is None:
            try:
                raw = await self._bus.request(CONTROL, msgspec.json.encode(
                    {"op": "stop", "sessionId": str(session_id), "reason": reason}),
                    CONTROL_TIMEOUT_S)
                return await self.store.load(session_id) if raw else None
            except BusError:  # nobody runs it: run it here for the stop
                state = await self.store.load(session_id)
                if state is None or state.status.value not in ("active", "stopping"):
                    return state
                await self.sessions.run(state)
        return await self._stop_here(session_id, reason)

    async def _stop_here(self, session_id: UUID, reason: str) -> V2GState | None:
        ref = self.sessions.ref(session_id)
        if ref is not None:
            try:
                await ref.ask(StopRequested(reason), timeout=CONTROL_TIMEOUT_S)
            except (ActorDead, AskTimeout, MailboxFull) as exc:  # it ended meanwhile, or busy
                log.warning("v2g.stop_ask_failed", session=str(session_id), error=repr(exc))
        return await self.store.load(session_id)

    async def serve(self) -> None:
        self._sub = await self._bus.subscribe(CONTROL, self._control)

    async def _control(self, msg: BusMessage) -> bytes | None:
        body: dict[str, Any] = msgspec.json.decode(msg.data)
        if body.get("op") == "resume" and self._holds(str(body.get("stationId"))):
            await self.sessions.resume(str(body["stationId"]))
        elif body.get("op") == "stop":
            session_id = UUID(str(body["sessionId"]))
            if self.sessions.ref(session_id) is not None:
                await self._stop_here(session_id, str(body.get("reason", "user")))
                return b"stopped"
        return None

    async def aclose(self) -> None:
        if self._sub is not None:
            await self._sub.unsubscribe()
        await self.sessions.aclose()
