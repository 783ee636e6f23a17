"""Forward-only SQL migrations: numbered files, one transaction each, advisory-locked."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import msgspec

from sigec_actors.adapters.pg import connection
from sigec_actors.domain.errors import MigrationChecksumMismatch, MigrationError
from sigec_actors.ports import DbConn, DbPool

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
"""The repository's migrations/ directory."""

LOCK_KEY = 0x51_6E_C0_DE  # pg_advisory_lock key shared by every migrating process
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    name       text PRIMARY KEY,
    checksum   text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)"""


class MigrationFile(msgspec.Struct, frozen=True):
    name: str
    sql: str
    checksum: str


def load_migrations(migrations_dir: Path = MIGRATIONS_DIR) -> list[MigrationFile]:
    """The migration files in order; a badly named .sql file or a repeated number is an error."""
    files: list[MigrationFile] = []
    numbers: dict[str, str] = {}
    for path in sorted(migrations_dir.glob("*.sql")):
        match = _NAME.match(path.name)
        if match is None:
            raise MigrationError(path.name, "name must look like 0001_short_name.sql")
        if match.group(1) in numbers:
            raise MigrationError(path.name, f"number also used by {numbers[match.group(1)]}")
        numbers[match.group(1)] = path.name
        data = path.read_bytes()
        files.append(MigrationFile(path.name, data.decode(), hashlib.sha256(data).hexdigest()))
    return files


async def _applied(conn: DbConn) -> dict[str, str]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT name, checksum FROM schema_migrations")
    return {str(r["name"]): str(r["checksum"]) for r in rows}


def _check(files: list[MigrationFile], applied: dict[str, str]) -> list[MigrationFile]:
    """Files not applied yet; raise if an applied one changed."""
    todo = []
    for f in files:
        recorded = applied.get(f.name)
        if recorded is None:
            todo.append(f)
        elif recorded != f.checksum:
            raise MigrationChecksumMismatch(f.name, recorded, f.checksum)
    return todo


async def pending_migrations(conn: DbConn | DbPool,
                             migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Names of the migrations not applied yet (raises if an applied file changed)."""
    files = load_migrations(migrations_dir)
    async with connection(conn) as c:
        return [f.name for f in _check(files, await _applied(c))]


async def apply_migrations(conn: DbConn | DbPool,
                           migrations_dir: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply pending migrations, each in its own transaction; return the names applied now.

    Holds a session advisory lock meanwhile, so concurrent runners (several nodes starting at
    once) apply each file exactly once; the later ones find nothing left to do.
    """
    files = load_migrations(migrations_dir)
    async with connection(conn) as c:
        return await _apply_locked(c, files)


async def _apply_locked(conn: DbConn, files: list[MigrationFile]) -> list[str]:
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        await conn.execute(_CREATE_TABLE)
        done = []
        for f in _check(files, await _applied(conn)):
            async with conn.transaction():
                await conn.execute(f.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
                    f.name, f.checksum,
                )
            done.append(f.name)
        return done
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
