"""Protocols the transactions domain depends on beyond sigec_actors.ports."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any, Protocol, runtime_checkable
from uuid import UUID

import msgspec

from sigec_actors.domain.records import IdToken, IdTokenType
from sigec_actors.domain.transactions import (
    RemoteStart,
    Transaction,
    TransactionEventIn,
    TxDecision,
    TxEventType,
    TxRecordResult,
    TxStatus,
)
from sigec_actors.transactions.reservation_model import (
    NewReservation,
    Reservation,
    ReservationStatus,
)
from sigec_actors.transactions.tariffs import Tariff


@runtime_checkable
class Snapshots(Protocol):
    """A TransactionEventStore that reads a transaction and its events in one round trip."""

    async def snapshot(self, station_id: str, station_transaction_id: str
                       ) -> tuple[Transaction | None, list[dict[str, Any]]]:
        """The transaction row (None if new) and its events' payloads in seqNo order."""
        ...


@runtime_checkable
class ContextReads(Protocol):
    """A store that also answers the lookups of an event's context in one round trip."""

    async def lookups(self, station_id: str, token: tuple[str, str] | None
                      ) -> tuple[list[Tariff], UUID | None]:
        """TariffRepository.candidates(station_id), and the user holding `token`
        (idToken, type) as IdTokenRepository.find sees it (None if unknown or no token)."""
        ...


@runtime_checkable
class GuardedWrites(Protocol):
    """A store that commits a decision made outside it, if the transaction did not move."""

    async def write(self, event: TransactionEventIn, expected: Transaction | None,
                    decision: TxDecision) -> TxRecordResult:
        """Commit `decision` for the new event `event` only if its transaction row is still
        `expected` (None: there is none yet); else raise StaleHistory, nothing written."""
        ...

    async def stored(self, event: TransactionEventIn) -> TxRecordResult:
        """The first answer to an event stored before (a duplicate), with its transaction;
        StaleHistory if it is not stored."""
        ...


@runtime_checkable
class RemoteStarts(Protocol):
    """Who asked for each RequestStartTransaction, shared by every node (the store has it)."""

    async def remember_remote_start(self, start: RemoteStart) -> bool:
        """Store it before it is sent; False when the station already has that id."""
        ...

    async def claim_remote_start(self, station_id: str, remote_start_id: int,
                                 station_transaction_id: str) -> RemoteStart | None:
        """The remote start, claimed by the transaction (idempotent); None if unknown or
        claimed by another transaction."""
        ...

    async def forget_remote_start(self, station_id: str, remote_start_id: int) -> None:
        """Drop an unclaimed remote start (the station refused it)."""
        ...


class TokenFacts(msgspec.Struct, frozen=True, kw_only=True):
    """All an authorization decision reads about a token, read together.

    `active`: (station, transactionId) of its active transactions changed in the window;
    `available_centavos`: its owner's wallet plus receivable balance (0 without a token).
    """

    token: IdToken | None
    active: tuple[tuple[str, str], ...] = ()
    available_centavos: int = 0


class TokenReads(Protocol):
    async def token_facts(self, id_token: str, token_type: IdTokenType, *, since: datetime,
                          currency: str = "BRL") -> TokenFacts:
        """The token row (as IdTokenRepository.find), its active transactions updated at or
        after `since` (as TransactionQueries.active_with_token) and its owner's balances."""
        ...


class TariffRepository(Protocol):
    async def add(self, tariff: Tariff) -> Tariff:
        """Store a tariff (its id and valid_from are set if missing) and return it."""
        ...
    async def get(self, tariff_id: UUID) -> Tariff | None: ...
    async def candidates(self, station_id: str) -> list[Tariff]:
        """Every tariff that may apply to the station: its own and the network-wide ones."""
        ...


class ReservationRepository(Protocol):
    async def create(self, new: NewReservation, max_live_per_user: int = 2) -> Reservation:
        """Store a Pending reservation if `reservation_rules.admit` lets it (checked and stored
        atomically); raises ReservationConflict if the EVSE has a live one."""
        ...
    async def get(self, reservation_id: UUID) -> Reservation | None: ...
    async def by_ocpp_id(self, station_id: str, ocpp_id: int) -> Reservation | None: ...
    async def transition(self, reservation_id: UUID, expected: Collection[ReservationStatus],
                         to: ReservationStatus) -> Reservation | None:
        """Compare-and-set: move to `to` only from one of `expected`; None if it was not."""
        ...
    async def live_for_evse(self, station_id: str, evse_id: int) -> Reservation | None: ...
    async def due(self, now: datetime, limit: int = 100) -> list[Reservation]:
        """Live reservations whose expiry is at or before `now`."""
        ...
    async def next_expiry(self) -> datetime | None:
        """The earliest expiry among live reservations."""
        ...
    async def for_user(self, user_id: UUID, limit: int = 50,
                       offset: int = 0) -> list[Reservation]: ...


class TxFilter(msgspec.Struct, frozen=True, kw_only=True):
    """A transaction listing: by owner, station, status and start time window [since, until)."""

    user_id: UUID | None = None
    station_id: str | None = None
    status: TxStatus | None = None
    since: datetime | None = None
    until: datetime | None = None


class TransactionQueries(Protocol):
    """Read side of transactions (REST lists, authorization checks, billing sweeps)."""

    async def page(self, where: TxFilter, limit: int = 50,
                   offset: int = 0) -> list[Transaction]:
        """Newest first (started_at, then id)."""
        ...
    async def count(self, where: TxFilter) -> int: ...
    async def active_with_token(self, id_token: str, token_type: str, *,
                                since: datetime) -> list[Transaction]:
        """Active transactions of a token updated at or after `since` (ConcurrentTx check)."""
        ...
    async def unbilled(self, source_type: str, limit: int = 100) -> list[Transaction]:
        """Ended, complete, owned, priced transactions with no journal entry yet."""
        ...


class Commander(Protocol):
    """Sends one typed OCPP request to a connected station and returns its typed answer.

    The same shape as api.ports.StationCommander (the node's command channel).
    """

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct: ...


class AfterCommit(Protocol):
    """Told about every committed (or replayed) TransactionEvent; must not block.

    Called inside the ChargePoint actor's handling of the event: work that talks to the
    station (CostUpdated, GetTransactionStatus) is scheduled as a task, never awaited here.
    """

    def committed(self, tx: Transaction, event_type: TxEventType, duplicate: bool) -> None: ...


class IncompleteTransactions(Protocol):
    """Transactions with seqNo gaps or no Started (R3), and the operator review of them."""

    async def incomplete(self, changed_before: datetime, limit: int = 50) -> list[Transaction]:
        """Incomplete transactions last changed before `changed_before`, oldest change first,
        leaving out those already waiting for an operator (an open review alert)."""
        ...
    async def open_review(self, tx: Transaction, details: dict[str, object]) -> bool:
        """Open the operator alert for `tx` (one open per transaction); False if one was."""
        ...
    async def active_on(self, station_id: str, evse_id: int | None,
                        limit: int = 50) -> list[Transaction]:
        """The station's Active transactions (on `evse_id`; None: on any EVSE)."""
        ...
    async def close_lost(self, tx: Transaction, at: datetime) -> Transaction | None:
        """End `tx` as incomplete (its Ended was lost; seq_gap set, so billing holds it) if
        its row is still `tx` (same updated_at, still Active); None if it moved."""
        ...


class ReservationListing(Protocol):
    """Operator view of reservations."""

    async def page(self, station_id: str | None = None, status: ReservationStatus | None = None,
                   limit: int = 50, offset: int = 0) -> list[Reservation]:
        """Newest first."""
        ...
