"""Starting and stopping a discharge for a user: checks, the profile sent, the actor started."""

from __future__ import annotations

import contextlib
import secrets
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

import msgspec
import structlog

from sigec_actors.domain.records import Caller
from sigec_actors.errors import SigecError
from sigec_actors.ocpp.generated import v201
from sigec_actors.transactions.ports import Commander
from sigec_actors.v2g_session.control import START, V2GAudit
from sigec_actors.v2g_session.effects import Persist
from sigec_actors.v2g_session.errors import (
    DischargeUnsupported,
    NoTransaction,
    NotTransactionOwner,
    ProfileRejected,
    StartTimedOut,
)
from sigec_actors.v2g_session.messages import ProfileAnswered
from sigec_actors.v2g_session.ports import SessionStore
from sigec_actors.v2g_session.queries import PgV2GQueries
from sigec_actors.v2g_session.state import SessionPolicy, V2GState, decide

log = structlog.get_logger("v2g")
STACK_LEVEL = 2
"""Above a TxDefaultProfile (usually stack level 0 or 1)."""
NEGATIVE_LIMIT = "v201_negative_limit"
DEFAULT_MAX_DISCHARGE_W = 7000
"""When an admin enabled discharge without a power (the common 7 kW wallbox)."""


class StartRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A discharge of `user_id`'s transaction; `caller` is who asks (the REST caller, e.g. an
    operator), None: the user itself (a job acting for the user, such as a plan)."""

    user_id: UUID
    station_id: str
    evse_id: int | None
    min_soc: int
    max_energy_wh: int | None = None
    until: datetime | None = None
    caller: Caller | None = None


def discharge_profile(state: V2GState) -> v201.SetChargingProfileRequest:
    """TxProfile bound to the transaction, Relative, in W, one period at -maxDischargeW."""
    schedule = v201.ChargingSchedule(
        id=1, charging_rate_unit=v201.ChargingRateUnitEnum.W,
        charging_schedule_period=(v201.ChargingSchedulePeriod(
            start_period=0, limit=-float(state.max_discharge_w)),))
    return v201.SetChargingProfileRequest(evse_id=state.evse_id, charging_profile=(
        v201.ChargingProfile(
            id=state.profile_id, stack_level=STACK_LEVEL,
            charging_profile_purpose=v201.ChargingProfilePurposeEnum.TX_PROFILE,
            charging_profile_kind=v201.ChargingProfileKindEnum.RELATIVE,
            transaction_id=state.station_transaction_id, charging_schedule=(schedule,))))


class DischargeService:
    """Starts a discharge (owner checks, SetChargingProfile, session actor) and stops one."""

    def __init__(self, store: SessionStore, queries: PgV2GQueries, commander: Commander, *,
                 clock: Callable[[], datetime], policy: SessionPolicy,
                 run: Callable[[V2GState, Caller], Awaitable[None]],
                 stop: Callable[[UUID, str, Caller], Awaitable[V2GState | None]],
                 audit: V2GAudit | None = None) -> None:
        self._store = store
        self._queries = queries
        self._commander = commander
        self._clock = clock
        self._policy = policy
        self._run = run
        self._stop = stop
        self._audit = audit or V2GAudit(None, "")

    async def start(self, req: StartRequest) -> V2GState:
        """Start it (audited for the caller with its outcome, here on the REST node)."""
        caller = req.caller or Caller("user", str(req.user_id))
        try:
            state = await self._start(req, caller)
        except SigecError as exc:
            await self._audit.record(START, caller, req.station_id, result=type(exc).__name__,
                                     origin=self._audit.node)
            raise
        await self._audit.record(START, caller, req.station_id, result="ok",
                                 origin=self._audit.node, session_id=state.session_id)
        return state

    async def _start(self, req: StartRequest, caller: Caller) -> V2GState:
        state = await self._new_session(req)
        await self._store.create(state)  # SessionAlreadyLive: the unique index said so
        try:
            answer = await self._commander.send(state.station_id, discharge_profile(state))
        except SigecError as exc:  # offline, timeout, CALLERROR: the session failed, say why
            with contextlib.suppress(StartTimedOut):  # failed by the sweep already
                await self._answered(state, ProfileAnswered(False, type(exc).__name__))
            raise
        assert isinstance(answer, v201.SetChargingProfileResponse)
        accepted = answer.status is v201.ChargingProfileStatusEnum.ACCEPTED
        info = answer.status_info
        reason = answer.status.value + (f" ({info.reason_code})" if info else "")
        state = await self._answered(state, ProfileAnswered(accepted, reason))
        if not accepted:
            raise ProfileRejected(state.station_id, str(state.session_id), reason)
        await self._run(state, caller)
        return state

    async def stop(self, session_id: UUID, reason: str = "user", *,
                   caller: Caller) -> V2GState | None:
        """Stop through the session's actor (wherever it runs) for `caller`; None if unknown."""
        return await self._stop(session_id, reason, caller)

    async def _answered(self, state: V2GState, answer: ProfileAnswered) -> V2GState:
        new, effects = decide(state, answer, self._clock())
        events = [e for eff in effects if isinstance(eff, Persist) for e in eff.events]
        if not await self._store.save(state.status, new, (), events):
            # the sweep failed the start meanwhile (v2g.start_timeout_s): take the profile back
            if answer.accepted:
                await self._clear(state)
            raise StartTimedOut(state.station_id, str(state.session_id))
        return new

    async def _clear(self, state: V2GState) -> None:
        request = v201.ClearChargingProfileRequest(charging_profile_id=state.profile_id)
        try:
            await self._commander.send(state.station_id, request)
        except SigecError as exc:  # gone again: its TxProfile ends with the transaction
            log.warning("v2g.late_clear_failed", session=str(state.session_id),
                        error=type(exc).__name__)

    async def _new_session(self, req: StartRequest) -> V2GState:
        cap = await self._queries.capability(req.station_id)
        if cap is None or cap.mode == "unsupported":
            raise DischargeUnsupported(req.station_id, "discharge is not enabled for it")
        if cap.mode != NEGATIVE_LIMIT:
            raise DischargeUnsupported(req.station_id, "station speaks OCPP 2.0.1")
        if not cap.online:
            raise DischargeUnsupported(req.station_id, "station is offline")
        tx = await self._queries.active_transaction(req.station_id, req.evse_id)
        if tx is None or tx.evse_id is None:
            raise NoTransaction(req.station_id, req.evse_id)
        if tx.user_id != req.user_id:
            raise NotTransactionOwner(req.station_id, tx.evse_id)
        prefs = await self._queries.preferences(req.user_id)
        return V2GState(
            session_id=uuid.uuid4(), user_id=req.user_id, station_id=req.station_id,
            evse_id=tx.evse_id, transaction_id=tx.id,
            station_transaction_id=tx.station_transaction_id, mode=cap.mode,
            profile_id=secrets.randbelow(2**30) + 1,
            max_discharge_w=cap.max_discharge_w or DEFAULT_MAX_DISCHARGE_W,
            min_soc=max(req.min_soc, prefs.preserve_soc),  # preserveSoc: the user's own floor
            max_energy_wh=req.max_energy_wh or prefs.max_discharge_wh, until=req.until,
            min_price_centavos_mwh=prefs.min_grid_price_centavos_mwh, policy=self._policy)
