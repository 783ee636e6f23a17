"""Protocols the domain depends on: repositories, outbox, event bus and cache."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID

import msgspec

from sigec_actors.domain.ledger import (
    AccountActivity,
    AccountKind,
    JournalEntry,
    LedgerAccount,
    NewJournalEntry,
    PostResult,
)
from sigec_actors.domain.records import (
    AuditEntry,
    AuditRecord,
    BootInfo,
    Connector,
    ConnectorStatus,
    IdToken,
    IdTokenStatus,
    IdTokenType,
    Location,
    NewLocation,
    NewStation,
    NewUser,
    OutboxMessage,
    RefreshToken,
    Role,
    Station,
    StationCredentials,
    StationDistance,
    User,
    UserStatus,
)
from sigec_actors.domain.transactions import (
    Decide,
    MeterValueIn,
    StoredTransactionEvent,
    Transaction,
    TransactionEventIn,
    TxRecordResult,
)


class DbConn(Protocol):
    """The part of an asyncpg connection the adapters use (typed, driver-agnostic)."""

    async def execute(self, query: str, *args: Any) -> str: ...
    async def fetch(self, query: str, *args: Any) -> list[Any]: ...
    async def fetchrow(self, query: str, *args: Any) -> Any: ...
    async def fetchval(self, query: str, *args: Any) -> Any: ...
    def transaction(self) -> Any: ...


class DbPool(Protocol):
    """The part of an asyncpg pool the adapters use."""

    def acquire(self) -> AbstractAsyncContextManager[Any]: ...
    async def close(self) -> None: ...


class UserRepository(Protocol):
    async def create(self, new: NewUser) -> User:
        """Store a user; raises EmailTaken if the email exists (case-insensitive)."""
        ...
    async def get(self, user_id: UUID) -> User | None: ...
    async def get_by_email(self, email: str) -> User | None: ...
    async def page(self, limit: int = 50, offset: int = 0) -> list[User]: ...
    async def count(self) -> int: ...
    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None: ...
    async def set_role(self, user_id: UUID, role: Role) -> None: ...
    async def set_status(self, user_id: UUID, status: UserStatus) -> None: ...


class StationRepository(Protocol):
    async def add_location(self, new: NewLocation) -> Location: ...
    async def get_location(self, location_id: UUID) -> Location | None: ...
    async def register(self, new: NewStation) -> Station:
        """Store a station and its credentials; raises StationExists."""
        ...
    async def get(self, station_id: str) -> Station | None: ...
    async def credentials(self, station_id: str) -> StationCredentials | None: ...
    async def page(self, limit: int = 50, offset: int = 0, *,
                   online: bool | None = None) -> list[Station]: ...
    async def count(self, *, online: bool | None = None) -> int: ...
    async def nearby(self, latitude: float, longitude: float, radius_km: float,
                     limit: int = 50) -> list[StationDistance]: ...
    async def update_boot_info(self, station_id: str, boot: BootInfo, now: datetime,
                               events: Sequence[OutboxMessage] = ()) -> None: ...
    async def set_online(self, station_id: str, online: bool, now: datetime,
                         events: Sequence[OutboxMessage] = ()) -> None: ...
    async def touch(self, station_id: str, now: datetime) -> None: ...
    async def set_connector_status(self, station_id: str, evse_id: int, connector_id: int,
                                   status: ConnectorStatus, *, now: datetime,
                                   events: Sequence[OutboxMessage] = ()) -> Connector: ...
    async def connectors(self, station_id: str) -> list[Connector]: ...
    async def set_credentials(self, station_id: str, password_hash: str | None,
                              security_profile: int) -> None: ...
    async def set_admin_status(self, station_id: str, admin_status: str) -> None:
        """Operative / Inoperative / Retired; raises UnknownStation."""
        ...


class IdTokenRepository(Protocol):
    async def add(self, user_id: UUID, id_token: str, token_type: IdTokenType, *,
                  status: IdTokenStatus = IdTokenStatus.ACCEPTED,
                  expires_at: datetime | None = None) -> IdToken:
        """Store a token for a user; raises IdTokenTaken if (id_token, type) exists."""
        ...
    async def find(self, id_token: str, token_type: IdTokenType) -> IdToken | None: ...
    async def get(self, token_id: UUID) -> IdToken | None: ...
    async def list_for_user(self, user_id: UUID) -> list[IdToken]: ...
    async def set_status(self, token_id: UUID, status: IdTokenStatus) -> bool: ...
    async def remove(self, user_id: UUID, token_id: UUID) -> bool: ...


class TransactionEventStore(Protocol):
    async def record(self, event: TransactionEventIn, decide: Decide) -> TxRecordResult:
        """Store a TransactionEvent once, in one DB transaction with its effects.

        A duplicate (same station, transactionId, seqNo) changes nothing and returns the
        response stored the first time. Otherwise `decide(current)` gives the new transaction
        state, the response to store, meter values and outbox events, all committed together.
        """
        ...
    async def get(self, transaction_id: UUID) -> Transaction | None: ...
    async def find(self, station_id: str, station_transaction_id: str) -> Transaction | None: ...
    async def events(self, station_id: str,
                     station_transaction_id: str) -> list[StoredTransactionEvent]: ...
    async def meter_values(self, transaction_id: UUID) -> list[MeterValueIn]: ...


class LedgerRepository(Protocol):
    async def account(self, kind: AccountKind, user_id: UUID | None = None,
                      currency: str = "BRL") -> LedgerAccount:
        """The account of that kind (per user for user kinds), created on first use."""
        ...
    async def post(self, entry: NewJournalEntry,
                   events: Sequence[OutboxMessage] = ()) -> PostResult:
        """Post a balanced entry once per source key (replays return created=False).

        Raises UnbalancedEntry, InsufficientFunds, UnknownAccount, JournalEntryConflict.
        """
        ...
    async def balance(self, account_id: UUID) -> int: ...
    async def entry_by_source(self, source_type: str, source_id: str) -> JournalEntry | None: ...
    async def history(self, account_id: UUID, limit: int = 50,
                      offset: int = 0) -> list[AccountActivity]: ...


class RefreshTokenRepository(Protocol):
    async def issue(self, user_id: UUID, token_hash: bytes, issued_at: datetime,
                    expires_at: datetime, family_id: UUID | None = None) -> RefreshToken: ...
    async def get(self, token_hash: bytes) -> RefreshToken | None: ...
    async def rotate(self, token_hash: bytes, new_token_hash: bytes, now: datetime,
                     expires_at: datetime) -> RefreshToken:
        """Swap a live token for a new one of the same family.

        Raises RefreshTokenUnknown / Expired / Revoked, or RefreshTokenReused after
        revoking the whole family when the token had already been rotated.
        """
        ...
    async def revoke(self, token_hash: bytes, now: datetime, reason: str = "logout") -> bool: ...
    async def revoke_family(self, family_id: UUID, now: datetime, reason: str) -> int: ...
    async def revoke_user(self, user_id: UUID, now: datetime, reason: str) -> int: ...


class AuditLog(Protocol):
    async def record(self, entry: AuditEntry) -> None: ...
    async def recent(self, limit: int = 50, *, target_type: str | None = None,
                     target_id: str | None = None) -> list[AuditRecord]: ...


class Outbox(Protocol):
    async def add(self, conn: DbConn | None, subject: str, payload: Mapping[str, Any]) -> UUID:
        """Queue an event in the caller's DB transaction (`conn`), or on its own if None."""
        ...
    async def pending_count(self) -> int: ...


class BusMessage(msgspec.Struct, frozen=True):
    subject: str
    data: bytes
    reply: str | None = None
    headers: dict[str, str] | None = None


BusHandler = Callable[[BusMessage], Awaitable[bytes | None]]
"""Handles one message; bytes returned answer a request (ignored for plain publishes)."""


class Subscription(Protocol):
    async def unsubscribe(self) -> None: ...


class EventBus(Protocol):
    """Direct (non-persistent) messaging: cross-node commands and request/reply."""

    async def publish(self, subject: str, data: bytes,
                      headers: Mapping[str, str] | None = None) -> None: ...
    async def subscribe(self, subject: str, handler: BusHandler,
                        queue: str | None = None) -> Subscription: ...
    async def request(self, subject: str, data: bytes, timeout_s: float) -> bytes:
        """Raises BusTimeout or NoResponders."""
        ...


class Cache(Protocol):
    """Shared cache, rate limits and the access-token deny-list.

    When the backend is down, `get`/`set`/`delete` fail open (miss / no-op) while
    `hit`, `deny`, `is_denied`, `remember` and `remembers` fail closed by raising
    CacheUnavailable. Everything but `get`/`set`/`delete` is shared by every node.
    """

    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl_s: float) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def hit(self, key: str, window_s: int) -> int:
        """Count one event in the current fixed window of `window_s` seconds; return the count."""
        ...
    async def deny(self, jti: str, ttl_s: float) -> None:
        """Deny-list a token id until it would have expired anyway."""
        ...
    async def is_denied(self, jti: str) -> bool: ...
    async def remember(self, key: str, ttl_s: float) -> None:
        """Keep a shared fact (an address a user or station came from) for `ttl_s` seconds,
        in the same fail-closed store as the deny-list but apart from its entries."""
        ...
    async def remembers(self, key: str) -> bool:
        """Whether `remember(key)` was said and has not expired; fails closed (raises)."""
        ...
    async def close(self) -> None: ...
