"""Builds a node's V2G sessions: actors, settlement, the start service and cross-node control."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from uuid import UUID

import msgspec
import structlog

from sigec_actors.alerts.ports import Alerts
from sigec_actors.config import V2GConfig
from sigec_actors.domain.errors import BusError
from sigec_actors.domain.records import Caller
from sigec_actors.errors import SigecError
from sigec_actors.jobs import Jobs, every
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import (
    AuditLog,
    BusMessage,
    DbPool,
    EventBus,
    LedgerRepository,
    Subscription,
)
from sigec_actors.runtime import ActorDead, AskTimeout, MailboxFull, SupervisorAt
from sigec_actors.transactions.ports import Commander
from sigec_actors.v2g.pricing import GridPrices, RetailPolicy, Submarket
from sigec_actors.v2g.wiring import retail_policy
from sigec_actors.v2g_session import control
from sigec_actors.v2g_session.actor import V2GDeps
from sigec_actors.v2g_session.control import (
    CONTROL,
    STOP,
    UNAUTHORIZED,
    ControlReply,
    RunSessions,
    StopSession,
    V2GAudit,
)
from sigec_actors.v2g_session.ev_reports import EvSocReports
from sigec_actors.v2g_session.messages import StopRequested
from sigec_actors.v2g_session.pay_store import PgCompensations
from sigec_actors.v2g_session.queries import PgV2GQueries
from sigec_actors.v2g_session.reprice import PgRepricingQueries, Repricing
from sigec_actors.v2g_session.service import DischargeService
from sigec_actors.v2g_session.sessions import V2GSessions
from sigec_actors.v2g_session.settle import Settlement
from sigec_actors.v2g_session.state import SessionPolicy, V2GState
from sigec_actors.v2g_session.store import PgSessionStore
from sigec_actors.v2g_session.sweep import PgSweepQueries, SessionSweep

log = structlog.get_logger("v2g")
CONTROL_TIMEOUT_S = 15.0
EXTRAS_KEY = "v2g_sessions"


def utcnow() -> datetime:
    return datetime.now(UTC)


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
    """The node's V2G session objects; `holds(station)` says whether this node serves it.

    Control across nodes (run a session started elsewhere, stop one running elsewhere) goes on
    the core NATS subject `sigec.v2g.control` as typed messages naming their caller: a node
    refuses one without a caller, and the node that stops a session audits it (V2GAudit).
    """

    def __init__(self, pool: DbPool, cfg: V2GConfig, supervisor: SupervisorAt, *,
                 prices: GridPrices, ledger: LedgerRepository, jobs: Callable[[], Commander],
                 bus: EventBus, holds: Callable[[str], bool], node: str = "",
                 audit: AuditLog | None = None, alerts: Alerts | None = None,
                 policy: SessionPolicy | None = None, subject: str = CONTROL) -> None:
        """`subject` is the control subject (`sigec.v2g.control`; tests isolate theirs)."""
        self.cfg = cfg
        self.policy = policy or SessionPolicy(offline_grace_s=cfg.offline_grace_s)
        self.store = PgSessionStore(pool, self.policy)
        self.rows = PgCompensations(pool)
        self.queries = PgV2GQueries(pool)
        retail = retail_policy(cfg)  # the one the grid-price routes use (v2g.wiring)
        default = Submarket(cfg.default_submarket)
        self.settlement = Settlement(self.store, self.rows, prices, ledger, retail,
                                     default_submarket=default, clock=utcnow, alerts=alerts)
        self.sessions = V2GSessions(supervisor, V2GDeps(
            self.store, self.settlement, ClearThrough(jobs),
            RetailNow(prices, self.rows, retail, default),
            check_interval_s=cfg.session_check_interval_s))
        self.sweep = SessionSweep(
            PgSweepQueries(pool, self.policy), self.store, self.settlement,
            start_timeout_s=cfg.start_timeout_s, offline_grace_s=self.policy.offline_grace_s,
            clock=utcnow, running_here=lambda sid: self.sessions.ref(sid) is not None)
        self.repricing = Repricing(PgRepricingQueries(pool, default), self.store,
                                   self.settlement, self.queries)  # price gaps, once priced
        self.ev_reports = EvSocReports(self.queries, utcnow)  # the charge points' EvReports
        self.audit = V2GAudit(audit, node)
        self.node = node
        self._bus, self._holds, self._subject = bus, holds, subject
        self._sub: Subscription | None = None
        self._jobs = Jobs()

    def service(self, commander: Commander) -> DischargeService:
        """The start/stop service sending the profile through `commander` (the REST caller's)."""
        return DischargeService(self.store, self.queries, commander, clock=utcnow,
                                policy=self.policy, run=self.run, stop=self.stop,
                                audit=self.audit)

    async def run(self, state: V2GState, caller: Caller) -> None:
        """Run the session's actor where its station is held (here, or told over the bus)."""
        if self._holds(state.station_id):
            await self.sessions.run(state)
            return
        await self._bus.publish(self._subject, control.encode(RunSessions(
            station_id=state.station_id, session_id=state.session_id, caller=caller,
            origin=self.node)))

    async def stop(self, session_id: UUID, reason: str, caller: Caller) -> V2GState | None:
        """Stop a session through its actor, on whichever node runs it (or here)."""
        if self.sessions.ref(session_id) is None:
            try:
                raw = await self._bus.request(self._subject, control.encode(StopSession(
                    session_id=session_id, reason=reason, caller=caller, origin=self.node)),
                    CONTROL_TIMEOUT_S)
            except BusError:  # nobody runs it: run it here for the stop
                state = await self.store.load(session_id)
                if state is None or state.status.value not in ("active", "stopping"):
                    return state
                await self.sessions.run(state)
            else:
                reply = control.decode_reply(raw)
                if reply.error is not None:
                    log.warning("v2g.stop_refused", session=str(session_id), error=reply.error)
                return await self.store.load(session_id)
        return await self._stop_here(session_id, reason, caller, self.node)

    async def _stop_here(self, session_id: UUID, reason: str, caller: Caller,
                         origin: str) -> V2GState | None:
        ref = self.sessions.ref(session_id)
        result = "ok"
        if ref is not None:
            try:
                await ref.ask(StopRequested(reason), timeout=CONTROL_TIMEOUT_S)
            except (ActorDead, AskTimeout, MailboxFull) as exc:  # it ended meanwhile, or busy
                log.warning("v2g.stop_ask_failed", session=str(session_id), error=repr(exc))
                result = type(exc).__name__
        state = await self.store.load(session_id)
        if state is not None:
            await self.audit.record(STOP, caller, state.station_id, result=result,
                                    origin=origin, session_id=session_id, reason=reason)
        return state

    async def serve(self) -> None:
        """Answer control messages, start the periodic sweep and the repricing of price
        gaps (every node runs all three)."""
        self._sub = await self._bus.subscribe(self._subject, self._control)
        self._jobs.spawn("v2g-sweep", every(self.cfg.sweep_interval_s, self.sweep.run_once,
                                            job="v2g-sweep"))
        self._jobs.spawn("v2g-repricing", every(self.cfg.repricing_interval_s,
                                                self.repricing.run_once, job="v2g-repricing"))

    async def _control(self, msg: BusMessage) -> bytes | None:
        try:
            body = control.decode(msg.data)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            log.warning("v2g.control_bad_message", error=str(exc))
            return None
        caller = body.caller
        if caller is None:
            log.warning("v2g.control_without_caller", op=type(body).__name__,
                        origin=body.origin)
            return control.encode(UNAUTHORIZED) if isinstance(body, StopSession) else None
        match body:
            case RunSessions(station_id=station_id):
                if self._holds(station_id):
                    await self.sessions.resume(station_id)
            case StopSession(session_id=session_id, reason=reason):
                if self.sessions.ref(session_id) is not None:
                    await self._stop_here(session_id, reason, caller, body.origin)
                    return control.encode(ControlReply(ok=True))
        return None

    async def aclose(self) -> None:
        await self._jobs.stop()
        await self.ev_reports.drain()
        if self._sub is not None:
            await self._sub.unsubscribe()
        await self.sessions.aclose()
