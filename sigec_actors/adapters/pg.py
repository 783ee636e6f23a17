"""asyncpg glue: pool creation with JSON codecs, transactions, and row-to-record helpers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

import asyncpg
import msgspec

from sigec_actors.domain.records import OutboxMessage
from sigec_actors.errors import SigecError
from sigec_actors.ports import DbConn, DbPool

T = TypeVar("T")

UniqueViolation: type[Exception] = asyncpg.UniqueViolationError
ForeignKeyViolation: type[Exception] = asyncpg.ForeignKeyViolationError
CheckViolation: type[Exception] = asyncpg.CheckViolationError
IntegrityViolation: type[Exception] = asyncpg.IntegrityConstraintViolationError
DB_FAILURES: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)
"""What a database outage looks like to a caller: refused, reset, timed out, terminated."""
STORAGE_FAILURES: tuple[type[BaseException], ...] = (*DB_FAILURES, SigecError)
"""An outage, or a typed refusal from a repository (InsufficientFunds, UnknownStation, ...)."""
PostgresError: type[Exception] = asyncpg.PostgresError

_json_encoder = msgspec.json.Encoder()


def _encode_json(value: Any) -> str:
    return _json_encoder.encode(value).decode()


async def _init_connection(conn: Any) -> None:
    """json/jsonb columns map to Python dicts/lists both ways."""
    for name in ("json", "jsonb"):
        await conn.set_type_codec(
            name, encoder=_encode_json, decoder=msgspec.json.decode, schema="pg_catalog",
        )


async def create_pool(dsn: str, min_size: int = 1, max_size: int = 10, *,
                      command_timeout: float | None = None) -> DbPool:
    """An asyncpg pool whose connections encode/decode json and jsonb as Python objects."""
    pool: DbPool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, command_timeout=command_timeout,
        init=_init_connection,
    )
    return pool


async def connect(dsn: str) -> DbConn:
    """One connection with the same codecs as the pool (for tools and tests)."""
    conn: DbConn = await asyncpg.connect(dsn)
    await _init_connection(conn)
    return conn


@asynccontextmanager
async def transaction(pool: DbPool) -> AsyncIterator[DbConn]:
    """Acquire a connection and run the block in one DB transaction."""
    async with pool.acquire() as conn, conn.transaction():
        yield conn


def is_pool(obj: object) -> bool:
    """True for an asyncpg pool (which also has fetch/execute, each on its own connection)."""
    return isinstance(obj, asyncpg.Pool)


@asynccontextmanager
async def connection(target: DbConn | DbPool) -> AsyncIterator[DbConn]:
    """Use a connection as is, or borrow one from a pool for the block."""
    if not is_pool(target):
        yield cast(DbConn, target)
        return
    async with cast(DbPool, target).acquire() as conn:
        yield conn


def constraint_name(exc: BaseException) -> str | None:
    """The constraint an integrity error names, if any."""
    name = getattr(exc, "constraint_name", None)
    return name if isinstance(name, str) else None


def to_record(row: Mapping[str, Any], cls: type[T], **extra: Any) -> T:
    """Build a msgspec Struct from a row (plus extra fields), validating types strictly."""
    return msgspec.convert({**dict(row), **extra}, cls, from_attributes=False, strict=False)


async def write_events(conn: DbConn, events: Sequence[OutboxMessage]) -> None:
    """Insert outbox rows for `events` on `conn` (inside the caller's transaction)."""
    if not events:
        return
    await conn.execute(
        "INSERT INTO event_outbox (subject, payload) "
        "SELECT s, p FROM unnest($1::text[], $2::jsonb[]) AS t(s, p)",
        [e.subject for e in events], [e.payload for e in events],
    )
