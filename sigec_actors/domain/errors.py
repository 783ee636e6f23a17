"""Typed errors raised by the persistence, event and cache ports; each carries its data."""

from __future__ import annotations

from uuid import UUID

from sigec_actors.errors import SigecError


class StoreError(SigecError):
    """Base of the errors a repository raises on purpose."""


class EmailTaken(StoreError):
    """Another user already has this email (compared case-insensitively)."""

    def __init__(self, email: str) -> None:
        self.email = email
        super().__init__(f"email already registered: {email}")


class UnknownUser(StoreError):
    """No user has this id."""

    def __init__(self, user_id: UUID) -> None:
        self.user_id = user_id
        super().__init__(f"unknown user: {user_id}")


class StationExists(StoreError):
    """A station with this identity is already registered."""

    def __init__(self, station_id: str) -> None:
        self.station_id = station_id
        super().__init__(f"station already registered: {station_id}")


class UnknownStation(StoreError):
    """No station has this identity."""

    def __init__(self, station_id: str) -> None:
        self.station_id = station_id
        super().__init__(f"unknown station: {station_id}")


class IdTokenTaken(StoreError):
    """The (idToken, type) pair already belongs to a user."""

    def __init__(self, id_token: str, token_type: str) -> None:
        self.id_token = id_token
        self.token_type = token_type
        super().__init__(f"id token already registered: {token_type}:{id_token}")


class UnknownAccount(StoreError):
    """A posting names a ledger account that does not exist."""

    def __init__(self, account_ids: tuple[UUID, ...]) -> None:
        self.account_ids = account_ids
        super().__init__(f"unknown ledger account(s): {', '.join(map(str, account_ids))}")


class UnbalancedEntry(StoreError):
    """A journal entry's postings do not sum to zero (or it has fewer than two)."""

    def __init__(self, source_type: str, source_id: str, total: int) -> None:
        self.source_type = source_type
        self.source_id = source_id
        self.total = total
        super().__init__(f"unbalanced journal entry {source_type}/{source_id}: sum {total}")


class InsufficientFunds(StoreError):
    """Posting the entry would take an account that may not go negative below zero."""

    def __init__(self, source_type: str, source_id: str) -> None:
        self.source_type = source_type
        self.source_id = source_id
        super().__init__(f"insufficient funds for journal entry {source_type}/{source_id}")


class JournalEntryConflict(StoreError):
    """The source key was already posted, with different postings."""

    def __init__(self, source_type: str, source_id: str) -> None:
        self.source_type = source_type
        self.source_id = source_id
        super().__init__(f"journal entry {source_type}/{source_id} exists with other postings")


class RefreshTokenError(StoreError):
    """A refresh token cannot be used; `reason` says why (unknown, expired, revoked, reused)."""

    reason = "invalid"

    def __init__(self, family_id: UUID | None = None) -> None:
        self.family_id = family_id
        super().__init__(f"refresh token {self.reason}")


class RefreshTokenUnknown(RefreshTokenError):
    """No refresh token has this hash."""

    reason = "unknown"


class RefreshTokenExpired(RefreshTokenError):
    """The refresh token is past its expiry."""

    reason = "expired"


class RefreshTokenRevoked(RefreshTokenError):
    """The refresh token (or its family) was revoked."""

    reason = "revoked"


class RefreshTokenReused(RefreshTokenError):
    """An already-rotated token was presented again; its whole family is now revoked."""

    reason = "reused"


class CacheUnavailable(SigecError):
    """The shared cache cannot be reached for an operation that must fail closed."""

    def __init__(self, operation: str, problem: str) -> None:
        self.operation = operation
        self.problem = problem
        super().__init__(f"cache unavailable for {operation}: {problem}")


class BusError(SigecError):
    """Base of event-bus errors."""


class BusTimeout(BusError):
    """A request on the bus got no reply in time."""

    def __init__(self, subject: str, timeout_s: float) -> None:
        self.subject = subject
        self.timeout_s = timeout_s
        super().__init__(f"no reply on {subject} within {timeout_s}s")


class NoResponders(BusError):
    """Nobody listens on the subject of a request."""

    def __init__(self, subject: str) -> None:
        self.subject = subject
        super().__init__(f"no responders on {subject}")


class MigrationError(SigecError):
    """A migration cannot be applied; `name` is the file."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"migration {name}: {problem}")


class MigrationChecksumMismatch(MigrationError):
    """An applied migration file was edited afterwards (migrations are forward-only)."""

    def __init__(self, name: str, recorded: str, actual: str) -> None:
        self.recorded = recorded
        self.actual = actual
        super().__init__(name, f"changed after it was applied (recorded sha256 {recorded[:12]}, "
                               f"file now {actual[:12]}); add a new migration instead")
