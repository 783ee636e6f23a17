"""PostgreSQL idempotency keys on `idempotency_keys` (migration 0002): claim, answer, prune."""

from __future__ import annotations

import base64
from datetime import datetime, timedelta
from typing import Any

from sigec_actors.adapters.pg import transaction
from sigec_actors.idempotency import (
    Claimed,
    IdemRequest,
    InFlight,
    KeyRow,
    Outcome,
    Policy,
    StoredAnswer,
    decide,
)
from sigec_actors.ports import DbConn, DbPool

_INSERT = (
    "INSERT INTO idempotency_keys (scope, key, request_method, request_path, request_hash,"
    " locked_at, recovery_point, created_at, expires_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, 'started', $6, $7)"
    " ON CONFLICT (scope, key) DO NOTHING RETURNING locked_at")
_ROW = ("SELECT request_hash, locked_at, response_status, response_body, expires_at"
        " FROM idempotency_keys WHERE scope = $1 AND key = $2 FOR UPDATE")
_RECLAIM = (
    "UPDATE idempotency_keys SET request_method = $3, request_path = $4, request_hash = $5,"
    " locked_at = $6, recovery_point = 'started', response_status = NULL,"
    " response_body = NULL, created_at = $6, expires_at = $7"
    " WHERE scope = $1 AND key = $2")
_FINISH = (
    "UPDATE idempotency_keys SET response_status = $4, response_body = $5, locked_at = NULL,"
    " recovery_point = 'finished' WHERE scope = $1 AND key = $2 AND locked_at = $3"
    " AND response_status IS NULL")
_RELEASE = ("DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND locked_at = $3"
            " AND response_status IS NULL")
_PRUNE = "DELETE FROM idempotency_keys WHERE expires_at <= $1"
_CLAIM_ATTEMPTS = 3


def encode_answer(answer: StoredAnswer) -> dict[str, Any]:
    """The jsonb of `response_body`: the exact bytes (text when UTF-8) and the content type,
    so a replay is byte-for-byte the first answer (jsonb would reorder a JSON object)."""
    try:
        return {"contentType": answer.content_type, "text": answer.body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"contentType": answer.content_type,
                "base64": base64.b64encode(answer.body).decode("ascii")}


def decode_answer(status: int, stored: dict[str, Any]) -> StoredAnswer:
    if "text" in stored:
        body = str(stored["text"]).encode("utf-8")
    else:
        body = base64.b64decode(str(stored["base64"]))
    return StoredAnswer(status, str(stored["contentType"]), body)


class PgIdempotencyStore:
    """The IdempotencyStore port; a claim is one transaction holding the key's row lock, so
    concurrent requests with one key (on any node) see exactly one claim."""

    def __init__(self, pool: DbPool, policy: Policy | None = None) -> None:
        self._pool = pool
        self.policy = policy or Policy()

    async def claim(self, request: IdemRequest, now: datetime) -> Outcome:
        expires = now + timedelta(seconds=self.policy.ttl_s)
        args = (request.scope, request.key, request.method, request.path, request.fingerprint,
                now, expires)
        for _ in range(_CLAIM_ATTEMPTS):
            async with transaction(self._pool) as conn:
                if await conn.fetchval(_INSERT, *args) is not None:
                    return Claimed(now)
                row = await _row(conn, request)
                if row is None:  # released or pruned between the insert and the read
                    continue
                outcome = decide(row, request.fingerprint, now, self.policy)
                if outcome is None:  # expired, or a stale claim of this very request
                    await conn.execute(_RECLAIM, *args)
                    return Claimed(now)
                return outcome
        return InFlight()  # the key keeps changing hands: the client retries later

    async def finish(self, request: IdemRequest, token: datetime, answer: StoredAnswer,
                     now: datetime) -> bool:
        async with self._pool.acquire() as conn:
            status = await conn.execute(_FINISH, request.scope, request.key, token,
                                        answer.status, encode_answer(answer))
        return bool(status == "UPDATE 1")

    async def release(self, request: IdemRequest, token: datetime) -> None:
        async with self._pool.acquire() as conn:
            await conn.execute(_RELEASE, request.scope, request.key, token)

    async def prune(self, now: datetime) -> int:
        async with self._pool.acquire() as conn:
            status = await conn.execute(_PRUNE, now)
        return int(str(status).rsplit(" ", 1)[-1])


async def _row(conn: DbConn, request: IdemRequest) -> KeyRow | None:
    row = await conn.fetchrow(_ROW, request.scope, request.key)
    if row is None:  # deleted (released or pruned) between our insert and this read
        return None
    answer = (decode_answer(row["response_status"], row["response_body"])
              if row["response_status"] is not None else None)
    return KeyRow(bytes(row["request_hash"]), row["locked_at"], answer, row["expires_at"])
