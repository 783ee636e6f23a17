"""Reservation records and their lifecycle as a StrEnum plus a transition table (pure)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from uuid import UUID

import msgspec

from sigec_actors.ocpp.generated.v201 import ReservationUpdateStatusEnum, ReserveNowStatusEnum
from sigec_actors.transactions.errors import IllegalReservationTransition


class ReservationStatus(StrEnum):
    PENDING = "Pending"  # stored, ReserveNow not answered yet
    ACCEPTED = "Accepted"
    REJECTED = "Rejected"
    OCCUPIED = "Occupied"
    FAULTED = "Faulted"
    UNAVAILABLE = "Unavailable"
    CANCELLED = "Cancelled"
    EXPIRED = "Expired"
    USED = "Used"  # its holder started a transaction with it


S = ReservationStatus
LIVE = frozenset({S.PENDING, S.ACCEPTED})
"""Statuses that hold the EVSE (at most one live reservation per EVSE)."""

TRANSITIONS: dict[ReservationStatus, frozenset[ReservationStatus]] = {
    S.PENDING: frozenset({S.ACCEPTED, S.REJECTED, S.OCCUPIED, S.FAULTED, S.UNAVAILABLE,
                          S.CANCELLED, S.EXPIRED, S.USED}),
    S.ACCEPTED: frozenset({S.CANCELLED, S.EXPIRED, S.USED}),
    S.REJECTED: frozenset(), S.OCCUPIED: frozenset(), S.FAULTED: frozenset(),
    S.UNAVAILABLE: frozenset(), S.CANCELLED: frozenset(), S.EXPIRED: frozenset(),
    S.USED: frozenset(),
}
"""Allowed next statuses; every status not LIVE is final."""

_RESERVE_NOW = {
    ReserveNowStatusEnum.ACCEPTED: S.ACCEPTED, ReserveNowStatusEnum.REJECTED: S.REJECTED,
    ReserveNowStatusEnum.OCCUPIED: S.OCCUPIED, ReserveNowStatusEnum.FAULTED: S.FAULTED,
    ReserveNowStatusEnum.UNAVAILABLE: S.UNAVAILABLE,
}
_STATUS_UPDATE = {
    ReservationUpdateStatusEnum.EXPIRED: S.EXPIRED,
    ReservationUpdateStatusEnum.REMOVED: S.CANCELLED,
}


class NewReservation(msgspec.Struct, frozen=True, kw_only=True):
    station_id: str
    user_id: UUID
    id_token: str
    id_token_type: str
    expires_at: datetime
    evse_id: int | None = None
    connector_type: str | None = None


class Reservation(msgspec.Struct, frozen=True, kw_only=True):
    """A stored reservation; `ocpp_id` is the integer sent in ReserveNow (unique per station)."""

    id: UUID
    ocpp_id: int
    station_id: str
    user_id: UUID
    id_token: str
    id_token_type: str
    expires_at: datetime
    status: ReservationStatus
    created_at: datetime
    evse_id: int | None = None
    connector_type: str | None = None

    def live_at(self, now: datetime) -> bool:
        """True while it holds its EVSE: live status and not past its expiry."""
        return self.status in LIVE and now < self.expires_at


def check_transition(reservation: Reservation, to: ReservationStatus) -> None:
    """Raise IllegalReservationTransition unless the table allows `to` from the current status."""
    if to not in TRANSITIONS[reservation.status]:
        raise IllegalReservationTransition(reservation.id, reservation.status, to)


def after_reserve_now(status: ReserveNowStatusEnum) -> ReservationStatus:
    """Our status for the station's ReserveNowResponse."""
    return _RESERVE_NOW[status]


def after_status_update(status: ReservationUpdateStatusEnum) -> ReservationStatus:
    """Our status for a ReservationStatusUpdate (Removed -> Cancelled)."""
    return _STATUS_UPDATE[status]


def blocks_start(reservation: Reservation | None, id_token: str | None, now: datetime) -> bool:
    """A live reservation of the EVSE lets only its holder's token start a transaction."""
    if reservation is None or not reservation.live_at(now):
        return False
    return id_token is None or id_token.casefold() != reservation.id_token.casefold()
