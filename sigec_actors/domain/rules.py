"""Small pure rules shared by the real repositories and their in-memory fakes."""

from __future__ import annotations

from datetime import datetime

from sigec_actors.domain.errors import (
    RefreshTokenError,
    RefreshTokenExpired,
    RefreshTokenReused,
    RefreshTokenRevoked,
    RefreshTokenUnknown,
)
from sigec_actors.domain.records import RefreshToken


def rotation_failure(token: RefreshToken | None, now: datetime) -> RefreshTokenError | None:
    """Why `token` may not be rotated at `now`, or None when it may."""
    if token is None:
        return RefreshTokenUnknown()
    if token.revoked_at is not None:
        return RefreshTokenRevoked(token.family_id)
    if token.rotated_at is not None:
        return RefreshTokenReused(token.family_id)
    if token.expires_at <= now:
        return RefreshTokenExpired(token.family_id)
    return None
