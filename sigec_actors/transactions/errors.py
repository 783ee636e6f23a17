"""Typed errors of the transactions domain; each carries the data that explains it."""

from __future__ import annotations

from uuid import UUID

from sigec_actors.errors import SigecError


class TransactionError(SigecError):
    """Base of the errors the transactions package raises on purpose."""


class TransactionStoreUnavailable(TransactionError):
    """The event could not be committed (database down, slow or failing): nothing was acked.

    The ChargePoint actor answers CALLERROR InternalError; the station retries the same
    (transactionId, seqNo), which is then stored once.
    """

    def __init__(self, station_id: str, transaction_id: str, seq_no: int, problem: str) -> None:
        self.station_id = station_id
        self.transaction_id = transaction_id
        self.seq_no = seq_no
        self.problem = problem
        super().__init__(f"TransactionEvent {station_id}/{transaction_id}#{seq_no} not stored:"
                         f" {problem}")


class StaleHistory(TransactionError):
    """Another writer committed an event of this transaction between our read and our lock."""

    def __init__(self, station_id: str, transaction_id: str) -> None:
        self.station_id = station_id
        self.transaction_id = transaction_id
        super().__init__(f"transaction {station_id}/{transaction_id} changed while deciding")


class ReservationError(TransactionError):
    """Base of reservation errors."""


class ReservationConflict(ReservationError):
    """The EVSE already has a live (Pending/Accepted) reservation."""

    def __init__(self, station_id: str, evse_id: int | None) -> None:
        self.station_id = station_id
        self.evse_id = evse_id
        super().__init__(f"EVSE {evse_id} of {station_id} is already reserved")


class UnknownReservation(ReservationError):
    """No reservation with this id (or not one the caller may see)."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"unknown reservation: {key}")


class IllegalReservationTransition(ReservationError):
    """The reservation's state machine forbids this change."""

    def __init__(self, reservation_id: UUID, current: str, wanted: str) -> None:
        self.reservation_id = reservation_id
        self.current = current
        self.wanted = wanted
        super().__init__(f"reservation {reservation_id}: {current} -> {wanted} is not allowed")


class UnknownEvse(ReservationError):
    """The station never reported this EVSE (no StatusNotification for it)."""

    def __init__(self, station_id: str, evse_id: int, known: tuple[int, ...]) -> None:
        self.station_id = station_id
        self.evse_id = evse_id
        self.known = known
        reported = ", ".join(map(str, known)) or "none yet"
        super().__init__(f"{station_id} has no EVSE {evse_id} (reported EVSEs: {reported})")


class ReservationLimitReached(ReservationError):
    """A cap on live reservations: the user's (`scope` "user"), one "any EVSE" per user and
    station ("any-evse"), or the station's EVSEs ("station")."""

    def __init__(self, scope: str, key: str, held: int, limit: int) -> None:
        self.scope = scope
        self.key = key
        self.held = held
        self.limit = limit
        super().__init__(f"{scope} {key} holds {held} live reservations (at most {limit})")


class RemoteStartIdTaken(TransactionError):
    """The station already has a remote start with this remoteStartId (HTTP 409)."""

    def __init__(self, station_id: str, remote_start_id: int) -> None:
        self.station_id = station_id
        self.remote_start_id = remote_start_id
        super().__init__(f"station {station_id} already has remoteStartId {remote_start_id}")
