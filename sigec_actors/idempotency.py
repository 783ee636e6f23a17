"""Idempotency keys (Stripe model): the pure rules, the request fingerprint and the store port.

A money-moving request carries a client-chosen key. The first request with a key *claims* it
and runs; its answer is stored and replayed to every retry with the same key and the same
request (fingerprint = method, path, canonical query and body, caller). Another request under
the same key is a mismatch; a retry while the first still runs finds it in flight. A claim
whose holder died (no answer after `lock_timeout_s`) may be taken over by a retry of the same
request. Keys expire after `ttl_s` (at least 24 h) and are pruned by a periodic job.
The HTTP side is api/idempotency.py; stores are adapters/pg_idempotency.py and
testing/idempotency.py, both deciding with `decide` below.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

MIN_TTL_S = 86_400  # Stripe keeps keys at least 24 h; so do we (M4)
KEY_MAX = 255


@dataclass(frozen=True)
class IdemRequest:
    """One request under a key: `scope` is the caller (keys are per caller)."""

    scope: str
    key: str
    method: str
    path: str
    fingerprint: bytes


@dataclass(frozen=True)
class StoredAnswer:
    """The answer a key replays: status, content type and the body's exact bytes."""

    status: int
    content_type: str
    body: bytes


@dataclass(frozen=True)
class KeyRow:
    """What a store holds for one key."""

    fingerprint: bytes
    locked_at: datetime | None
    answer: StoredAnswer | None
    expires_at: datetime


@dataclass(frozen=True)
class Claimed:
    """Run the request; `token` proves the claim when finishing or releasing it."""

    token: datetime


@dataclass(frozen=True)
class Replay:
    """The key already has an answer for this very request: send it again."""

    answer: StoredAnswer


@dataclass(frozen=True)
class InFlight:
    """The first request with this key is still running."""


@dataclass(frozen=True)
class Mismatch:
    """The key was used for another request (other body, path, method or caller)."""


Outcome = Claimed | Replay | InFlight | Mismatch


@dataclass(frozen=True)
class Policy:
    """How long keys live and how long a claim may go unanswered before a retry takes it."""

    ttl_s: int = MIN_TTL_S
    lock_timeout_s: float = 90.0


def decide(row: KeyRow | None, fingerprint: bytes, now: datetime,
           policy: Policy) -> Outcome | None:
    """What a request meets under its key; None means claim it afresh (no live row, or a
    stale claim of this very request whose holder never answered)."""
    if row is None or row.expires_at <= now:
        return None
    if row.fingerprint != fingerprint:
        return Mismatch()
    if row.answer is not None:
        return Replay(row.answer)
    stale = row.locked_at is None or now - row.locked_at >= timedelta(
        seconds=policy.lock_timeout_s)
    return None if stale else InFlight()


def fingerprint(method: str, path: str, query: Any, body: Any, caller: str) -> bytes:
    """SHA-256 of the request as JSON with sorted keys: equal requests hash equal however
    their JSON was spelled (key order, spaces, defaults filled by decoding)."""
    canonical = json.dumps([method.upper(), path, query, body, caller], sort_keys=True,
                           separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return hashlib.sha256(canonical.encode("utf-8")).digest()


def valid_key(key: str) -> bool:
    """1..255 printable ASCII characters (a V4 UUID is the usual choice)."""
    return 0 < len(key) <= KEY_MAX and all(" " <= ch <= "~" for ch in key)


class IdempotencyStore(Protocol):
    """Keys with their claim and stored answer (PgIdempotencyStore, InMemoryIdempotencyStore)."""

    async def claim(self, request: IdemRequest, now: datetime) -> Outcome:
        """Claim the key for `request`, or say what holds it (atomically across nodes)."""
        ...

    async def finish(self, request: IdemRequest, token: datetime, answer: StoredAnswer,
                     now: datetime) -> bool:
        """Store the answer of a claim; False when the claim was lost (taken over)."""
        ...

    async def release(self, request: IdemRequest, token: datetime) -> None:
        """Forget an unanswered claim, so a retry runs the request again."""
        ...

    async def prune(self, now: datetime) -> int:
        """Delete expired keys; returns how many."""
        ...
