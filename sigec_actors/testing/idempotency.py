"""In-memory idempotency keys: the IdempotencyStore port for the API harness and unit tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta

from sigec_actors.idempotency import (
    Claimed,
    IdemRequest,
    KeyRow,
    Outcome,
    Policy,
    StoredAnswer,
    decide,
)


class InMemoryIdempotencyStore:
    """Same decisions as PgIdempotencyStore (both use `decide`); one event loop, no awaits
    inside a claim, so a claim is atomic here too."""

    def __init__(self, policy: Policy | None = None) -> None:
        self.policy = policy or Policy()
        self.rows: dict[tuple[str, str], KeyRow] = {}

    async def claim(self, request: IdemRequest, now: datetime) -> Outcome:
        ident = (request.scope, request.key)
        outcome = decide(self.rows.get(ident), request.fingerprint, now, self.policy)
        if outcome is not None:
            return outcome
        self.rows[ident] = KeyRow(request.fingerprint, now, None,
                                  now + timedelta(seconds=self.policy.ttl_s))
        return Claimed(now)

    async def finish(self, request: IdemRequest, token: datetime, answer: StoredAnswer,
                     now: datetime) -> bool:
        ident = (request.scope, request.key)
        row = self.rows.get(ident)
        if row is None or row.locked_at != token or row.answer is not None:
            return False
        self.rows[ident] = replace(row, locked_at=None, answer=answer)
        return True

    async def release(self, request: IdemRequest, token: datetime) -> None:
        ident = (request.scope, request.key)
        row = self.rows.get(ident)
        if row is not None and row.locked_at == token and row.answer is None:
            del self.rows[ident]

    async def prune(self, now: datetime) -> int:
        expired = [ident for ident, row in self.rows.items() if row.expires_at <= now]
        for ident in expired:
            del self.rows[ident]
        return len(expired)
