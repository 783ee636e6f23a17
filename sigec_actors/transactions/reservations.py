"""Reservations: ReserveNow / CancelReservation / ReservationStatusUpdate, holder-only starts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from uuid import UUID

import structlog

from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.ocpp.generated.v201 import (
    CancelReservationRequest,
    CancelReservationResponse,
    CancelReservationStatusEnum,
    ConnectorEnum,
    IdToken,
    IdTokenEnum,
    ReservationStatusUpdateRequest,
    ReservationStatusUpdateResponse,
    ReserveNowRequest,
    ReserveNowResponse,
)
from sigec_actors.transactions.background import COMMAND_FAILURES
from sigec_actors.transactions.errors import UnknownReservation
from sigec_actors.transactions.ports import Commander, ReservationRepository
from sigec_actors.transactions.reservation_model import (
    LIVE,
    TRANSITIONS,
    NewReservation,
    Reservation,
    ReservationStatus,
    after_reserve_now,
    after_status_update,
    blocks_start,
    check_transition,
)
from sigec_actors.transactions.reservation_rules import DEFAULT_MAX_LIVE_PER_USER

S = ReservationStatus
log = structlog.get_logger("transactions")


def reserve_now_request(r: Reservation) -> ReserveNowRequest:
    """The ReserveNow CALL for a stored reservation."""
    return ReserveNowRequest(
        id=r.ocpp_id, expiry_date_time=r.expires_at, evse_id=r.evse_id,
        connector_type=ConnectorEnum(r.connector_type) if r.connector_type else None,
        id_token=IdToken(id_token=r.id_token, type=IdTokenEnum(r.id_token_type)))


class ReservationService:
    """Reservation lifecycle; every change is a compare-and-set along TRANSITIONS."""

    def __init__(self, repo: ReservationRepository,
                 max_live_per_user: int = DEFAULT_MAX_LIVE_PER_USER) -> None:
        self._repo = repo
        self._max_live_per_user = max_live_per_user

    async def reserve(self, commander: Commander, new: NewReservation) -> Reservation:
        """Store Pending, send ReserveNow, record the station's answer.

        Raises UnknownEvse or ReservationLimitReached (see reservation_rules.admit; nothing is
        sent), ReservationConflict (EVSE taken) or the commander's error, after marking the
        reservation Rejected (a timed-out station may still hold it until its own expiry).
        """
        pending = await self._repo.create(new, self._max_live_per_user)
        try:
            reply = await commander.send(new.station_id, reserve_now_request(pending))
        except Exception:
            await self._move(pending, S.REJECTED)
            raise
        assert isinstance(reply, ReserveNowResponse)
        return await self._move(pending, after_reserve_now(reply.status))

    async def visible(self, reservation_id: UUID, user_id: UUID | None = None) -> Reservation:
        """The reservation if `user_id` holds it (any when None); else UnknownReservation."""
        r = await self._repo.get(reservation_id)
        if r is None or (user_id is not None and r.user_id != user_id):
            raise UnknownReservation(str(reservation_id))
        return r

    async def cancel(self, commander: Commander, reservation_id: UUID,
                     user_id: UUID | None = None) -> Reservation:
        """Cancel a live reservation (its holder's, or any when `user_id` is None)."""
        r = await self.visible(reservation_id, user_id)
        check_transition(r, S.CANCELLED)
        if r.status is S.ACCEPTED:
            reply = await commander.send(r.station_id,
                                         CancelReservationRequest(reservation_id=r.ocpp_id))
            assert isinstance(reply, CancelReservationResponse)
            if reply.status is not CancelReservationStatusEnum.ACCEPTED:
                current = await self._repo.get(r.id)  # the station no longer knows it
                if current is None or current.status not in LIVE:
                    return current or r
        return await self._move(r, S.CANCELLED)

    async def on_status_update(self, station_id: str, request: ReservationStatusUpdateRequest
                               ) -> ReservationStatusUpdateResponse:
        """The station expired or removed a reservation (unknown ids are acknowledged)."""
        r = await self._repo.by_ocpp_id(station_id, request.reservation_id)
        if r is not None and r.status in LIVE:
            await self._move(r, after_status_update(request.reservation_update_status))
        return ReservationStatusUpdateResponse()

    async def may_start(self, station_id: str, evse_id: int | None, id_token: str | None,
                        now: datetime) -> bool:
        """False when the EVSE holds a live reservation for another token."""
        if evse_id is None:
            return True
        return not blocks_start(await self._repo.live_for_evse(station_id, evse_id), id_token,
                                now)

    async def use(self, station_id: str, ocpp_id: int) -> Reservation | None:
        """Its holder started a transaction with it (TransactionEvent reservationId)."""
        r = await self._repo.by_ocpp_id(station_id, ocpp_id)
        if r is None or r.status not in LIVE:
            return r
        return await self._move(r, S.USED)

    async def use_row(self, reservation_id: UUID) -> Reservation | None:
        """Its holder started on the reserved EVSE (the event named no reservationId)."""
        r = await self._repo.get(reservation_id)
        if r is None or r.status not in LIVE:
            return r
        return await self._move(r, S.USED)

    async def expire_due(self, now: datetime,
                         commander: Commander | None = None) -> list[Reservation]:
        """Mark live reservations past their expiry Expired (the timer's job).

        Those the station had accepted are cancelled there too (best effort: the station
        also expires them itself at the expiryDateTime it was given).
        """
        done, held = [], []
        for r in await self._repo.due(now):
            moved = await self._repo.transition(r.id, LIVE, S.EXPIRED)
            if moved is not None:  # only one node wins the compare-and-set
                done.append(moved)
                held += [r] if r.status is S.ACCEPTED else []
        if commander is not None and held:
            await asyncio.gather(*(_cancel_at_station(commander, r) for r in held))
        return done

    async def next_expiry(self) -> datetime | None:
        return await self._repo.next_expiry()

    async def _move(self, r: Reservation, to: ReservationStatus) -> Reservation:
        check_transition(r, to)
        allowed = [s for s, nexts in TRANSITIONS.items() if to in nexts]
        moved = await self._repo.transition(r.id, allowed, to)
        if moved is not None:
            return moved
        current = await self._repo.get(r.id)  # someone else moved it first: theirs stands
        assert current is not None
        return current


async def _cancel_at_station(commander: Commander, r: Reservation) -> None:
    try:
        await commander.send(r.station_id, CancelReservationRequest(reservation_id=r.ocpp_id))
    except COMMAND_FAILURES as exc:
        log.info("expired_reservation_not_cancelled", station_id=r.station_id,
                 reservation_id=r.ocpp_id, error=f"{type(exc).__name__}: {exc}")


class ExpiryTimer:
    """Runs `expire_due` at each reservation's expiry (or every `max_wait_s` at most).

    Time and sleeping are injected; `poke()` wakes it after a new reservation; `commander`
    (or `bind`) lets it cancel expired reservations at their stations.
    """

    def __init__(self, service: ReservationService, now: Callable[[], datetime],
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
                 max_wait_s: float = 30.0, commander: Commander | None = None) -> None:
        self._service = service
        self._now = now
        self._sleep = sleep
        self._max_wait = max_wait_s
        self._wake = asyncio.Event()
        self._commander = commander

    def bind(self, commander: Commander | None) -> None:
        self._commander = commander

    def poke(self) -> None:
        self._wake.set()

    async def run_once(self) -> float:
        """Expire what is due; return how long to wait before the next round."""
        now = self._now()
        await self._service.expire_due(now, self._commander)
        nxt = await self._service.next_expiry()
        if nxt is None:
            return self._max_wait
        return min(max((nxt - now).total_seconds(), 0.0), self._max_wait)

    async def run(self) -> None:
        """Loop until cancelled; a database outage only delays the next round."""
        while True:
            self._wake.clear()  # before the round: a poke during it wakes the next wait
            try:
                wait = await self.run_once()
            except DB_FAILURES as exc:
                log.warning("reservation_expiry_failed", error=f"{type(exc).__name__}: {exc}")
                wait = self._max_wait
            sleeper = asyncio.ensure_future(self._sleep(wait))
            waker = asyncio.ensure_future(self._wake.wait())
            try:
                await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                sleeper.cancel()
                waker.cancel()
