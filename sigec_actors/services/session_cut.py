"""Cutting a user's sessions at once (suspension, role change): access tokens are stateless
JWTs, so every minute in which a still-valid token of the user may have been issued goes on
the shared deny-list, and authentication checks the token's minute besides its jti."""

from __future__ import annotations

from datetime import datetime

from sigec_actors.ports import Cache
from sigec_actors.services.tokens import MAX_ACCESS_TTL_S

MINUTE = 60


def cut_key(user_id: str, issued_at: int) -> str:
    """The deny-list key of `user_id`'s access tokens issued in the minute of `issued_at`."""
    return f"user-cut:{user_id}:{issued_at // MINUTE}"


async def cut_sessions(cache: Cache, user_id: str, now: datetime) -> int:
    """Deny every access token of the user that may still be valid (issued within the longest
    access TTL, this minute included; a token issued later this minute is refused too, so a
    user reactivated at once signs in again a minute later). Returns the keys written."""
    stamp = int(now.timestamp())
    first, last = (stamp - MAX_ACCESS_TTL_S) // MINUTE, stamp // MINUTE
    for minute in range(first, last + 1):
        await cache.deny(cut_key(user_id, minute * MINUTE), MAX_ACCESS_TTL_S + 2 * MINUTE)
    return last - first + 1
