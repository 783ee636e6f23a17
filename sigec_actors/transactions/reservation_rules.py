"""Which new reservations are admitted: known EVSEs and caps on live reservations (pure)."""

from __future__ import annotations

import msgspec

from sigec_actors.transactions.errors import ReservationLimitReached, UnknownEvse
from sigec_actors.transactions.reservation_model import NewReservation

DEFAULT_MAX_LIVE_PER_USER = 2


class Holdings(msgspec.Struct, frozen=True, kw_only=True):
    """What is held when a reservation is asked for (read under the user's and station's
    locks); live = Pending or Accepted and not past its expiry."""

    evses: frozenset[int]
    """The EVSEs the station has reported (StatusNotification); none yet = nothing to reserve."""
    user_live: int
    """The user's live reservations, on every station."""
    user_any_here: int
    """The user's live "any EVSE" reservations on this station."""
    station_live: int
    """Live reservations on this station, every user's."""


def admit(new: NewReservation, held: Holdings, max_live_per_user: int) -> None:
    """Raise UnknownEvse or ReservationLimitReached unless `new` may be stored.

    A station holds at most as many live reservations as it has reported EVSEs (so a station
    that reported none takes none), a user at most `max_live_per_user` in all and one "any
    EVSE" reservation per station.
    """
    if new.evse_id is not None and new.evse_id not in held.evses:
        raise UnknownEvse(new.station_id, new.evse_id, tuple(sorted(held.evses)))
    if held.user_live >= max_live_per_user:
        raise ReservationLimitReached("user", str(new.user_id), held.user_live,
                                      max_live_per_user)
    if new.evse_id is None and held.user_any_here >= 1:
        raise ReservationLimitReached("any-evse", f"{new.user_id}@{new.station_id}",
                                      held.user_any_here, 1)
    if held.station_live >= len(held.evses):
        raise ReservationLimitReached("station", new.station_id, held.station_live,
                                      len(held.evses))
