"""PostgreSQL repositories for users, their id tokens and their refresh tokens."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from sigec_actors.adapters.pg import UniqueViolation, to_record, transaction
from sigec_actors.domain.errors import (
    EmailTaken,
    IdTokenTaken,
    RefreshTokenError,
    RefreshTokenReused,
    UnknownUser,
)
from sigec_actors.domain.records import (
    IdToken,
    IdTokenStatus,
    IdTokenType,
    NewUser,
    RefreshToken,
    Role,
    User,
    UserStatus,
)
from sigec_actors.domain.rules import rotation_failure
from sigec_actors.ports import DbConn, DbPool


class PgUserRepository:
    """UserRepository on PostgreSQL; emails are unique case-insensitively."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def create(self, new: NewUser) -> User:
        async with self._pool.acquire() as conn:
            try:
                row = await conn.fetchrow(
                    "INSERT INTO users (name, email, password_hash, role) VALUES ($1, $2, $3, $4)"
                    " RETURNING *",
                    new.name, new.email, new.password_hash, new.role.value)
            except UniqueViolation as exc:
                raise EmailTaken(new.email) from exc
        return to_record(row, User)

    async def get(self, user_id: UUID) -> User | None:
        return await self._one("SELECT * FROM users WHERE id = $1", user_id)

    async def get_by_email(self, email: str) -> User | None:
        return await self._one(
            "SELECT * FROM users WHERE lower(email) = lower($1)", email)

    async def page(self, limit: int = 50, offset: int = 0) -> list[User]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT * FROM users ORDER BY created_at, id LIMIT $1 OFFSET $2",
                limit, offset)
        return [to_record(r, User) for r in rows]

    async def count(self) -> int:
        async with self._pool.acquire() as conn:
            return int(await conn.fetchval("SELECT count(*) FROM users"))

    async def set_password_hash(self, user_id: UUID, password_hash: str) -> None:
        await self._update(user_id, "password_hash", password_hash)

    async def set_role(self, user_id: UUID, role: Role) -> None:
        await self._update(user_id, "role", role.value)

    async def set_status(self, user_id: UUID, status: UserStatus) -> None:
        await self._update(user_id, "status", status.value)

    async def _update(self, user_id: UUID, column: str, value: str) -> None:
        assert column in {"password_hash", "role", "status"}  # never user input
        async with self._pool.acquire() as conn:
            done = await conn.execute(
                f"UPDATE users SET {column} = $2 WHERE id = $1", user_id, value)  # noqa: S608
        if done == "UPDATE 0":
            raise UnknownUser(user_id)

    async def _one(self, sql: str, arg: object) -> User | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(sql, arg)
        return None if row is None else to_record(row, User)




class PgIdTokenRepository:
    """IdTokenRepository on PostgreSQL; (id_token, type) is unique across users."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def add(self, user_id: UUID, id_token: str, token_type: IdTokenType, *,
                  status: IdTokenStatus = IdTokenStatus.ACCEPTED,
                  expires_at: datetime | None = None) -> IdToken:
        async with self._pool.acquire() as conn:
            try:
                row = await conn.fetchrow(
                    "INSERT INTO id_tokens (user_id, id_token, type, status, expires_at)"
                    " VALUES ($1, $2, $3, $4, $5) RETURNING *",
                    user_id, id_token, token_type.value, status.value, expires_at)
            except UniqueViolation as exc:
                raise IdTokenTaken(id_token, token_type.value) from exc
        return to_record(row, IdToken)

    async def find(self, id_token: str, token_type: IdTokenType) -> IdToken | None:
        rows = await self._fetch(
            "SELECT * FROM id_tokens WHERE id_token = $1 AND type = $2",
            id_token, token_type.value)
        return rows[0] if rows else None

    async def get(self, token_id: UUID) -> IdToken | None:
        rows = await self._fetch("SELECT * FROM id_tokens WHERE id = $1", token_id)
        return rows[0] if rows else None

    async def list_for_user(self, user_id: UUID) -> list[IdToken]:
        return await self._fetch(
            "SELECT * FROM id_tokens WHERE user_id = $1 ORDER BY created_at, id",
            user_id)

    async def set_status(self, token_id: UUID, status: IdTokenStatus) -> bool:
        async with self._pool.acquire() as conn:
            done = await conn.execute(
                "UPDATE id_tokens SET status = $2 WHERE id = $1", token_id, status.value)
        return bool(done != "UPDATE 0")

    async def remove(self, user_id: UUID, token_id: UUID) -> bool:
        async with self._pool.acquire() as conn:
            done = await conn.execute(
                "DELETE FROM id_tokens WHERE id = $1 AND user_id = $2", token_id, user_id)
        return bool(done != "DELETE 0")

    async def _fetch(self, sql: str, *args: object) -> list[IdToken]:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(sql, *args)
        return [to_record(r, IdToken) for r in rows]




class PgRefreshTokenRepository:
    """RefreshTokenRepository on PostgreSQL: rotation within a family, reuse revokes it."""

    def __init__(self, pool: DbPool) -> None:
        self._pool = pool

    async def issue(self, user_id: UUID, token_hash: bytes, issued_at: datetime,
                    expires_at: datetime, family_id: UUID | None = None) -> RefreshToken:
        async with self._pool.acquire() as conn:
            return await _insert_token(conn, user_id, token_hash, issued_at=issued_at,
                                       expires_at=expires_at, family_id=family_id, parent_id=None)

    async def get(self, token_hash: bytes) -> RefreshToken | None:
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(
                "SELECT * FROM refresh_tokens WHERE token_hash = $1", token_hash)
        return None if row is None else to_record(row, RefreshToken)

    async def rotate(self, token_hash: bytes, new_token_hash: bytes, now: datetime,
                     expires_at: datetime) -> RefreshToken:
        # The family revocation on reuse must commit, so the error is raised after the block.
        failure: RefreshTokenError | None = None
        async with transaction(self._pool) as conn:
            row = await conn.fetchrow(
                "SELECT * FROM refresh_tokens WHERE token_hash = $1 FOR UPDATE",
                token_hash)
            old = None if row is None else to_record(row, RefreshToken)
            failure = rotation_failure(old, now)
            if isinstance(failure, RefreshTokenReused):
                await _revoke_family(conn, failure.family_id, now, "reuse detected")
            elif failure is None and old is not None:
                await conn.execute(
                    "UPDATE refresh_tokens SET rotated_at = $2 WHERE id = $1", old.id, now)
                return await _insert_token(conn, old.user_id, new_token_hash, issued_at=now,
                                           expires_at=expires_at, family_id=old.family_id,
                                           parent_id=old.id)
        assert failure is not None
        raise failure

    async def revoke(self, token_hash: bytes, now: datetime, reason: str = "logout") -> bool:
        async with self._pool.acquire() as conn:
            done = await conn.execute(
                "UPDATE refresh_tokens SET revoked_at = $2, revoked_reason = $3"
                " WHERE token_hash = $1 AND revoked_at IS NULL", token_hash, now, reason)
        return bool(done != "UPDATE 0")

    async def revoke_family(self, family_id: UUID, now: datetime, reason: str) -> int:
        async with self._pool.acquire() as conn:
            return await _revoke_family(conn, family_id, now, reason)

    async def revoke_user(self, user_id: UUID, now: datetime, reason: str) -> int:
        async with self._pool.acquire() as conn:
            done = await conn.execute(
                "UPDATE refresh_tokens SET revoked_at = $2, revoked_reason = $3"
                " WHERE user_id = $1 AND revoked_at IS NULL", user_id, now, reason)
        return int(done.split()[-1])


async def _revoke_family(conn: DbConn, family_id: UUID | None, now: datetime, reason: str) -> int:
    done = await conn.execute(
        "UPDATE refresh_tokens SET revoked_at = $2, revoked_reason = $3"
        " WHERE family_id = $1 AND revoked_at IS NULL", family_id, now, reason)
    return int(done.split()[-1])


async def _insert_token(conn: DbConn, user_id: UUID, token_hash: bytes, *, issued_at: datetime,
                        expires_at: datetime, family_id: UUID | None,
                        parent_id: UUID | None) -> RefreshToken:
    row = await conn.fetchrow(
        "INSERT INTO refresh_tokens (user_id, family_id, parent_id, token_hash, issued_at,"
        " expires_at) VALUES ($1, coalesce($2, gen_random_uuid()), $3, $4, $5, $6)"
        " RETURNING *",
        user_id, family_id, parent_id, token_hash, issued_at, expires_at)
    return to_record(row, RefreshToken)
