"""JWT access tokens (HS256, pinned) and opaque refresh tokens, as pure functions."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import jwt
import msgspec

from sigec_actors.domain.records import Role
from sigec_actors.errors import SigecError

ALGORITHM = "HS256"
ALGORITHMS = [ALGORITHM]  # pinned (RFC 8725 §3.1): never read the algorithm from the token
ISSUER = "sigec-ve"
AUDIENCE = "sigec-ve-api"
REQUIRED = ["exp", "iat", "jti", "sub", "iss", "aud"]
MAX_ACCESS_TTL_S = 900


class InvalidToken(SigecError):
    """An access token that must not be honoured; `reason` is for logs, never for clients."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"invalid access token: {reason}")


class AccessClaims(msgspec.Struct, frozen=True):
    """The claims SIGEC puts in (and requires from) an access token."""

    sub: str
    role: Role
    jti: str
    iat: int
    exp: int
    iss: str = ISSUER
    aud: str = AUDIENCE


class TokenKey(msgspec.Struct, frozen=True):
    """The HMAC secret and its id (`kid`), derived from the secret so rotation changes it."""

    secret: str
    kid: str

    @classmethod
    def from_secret(cls, secret: str) -> TokenKey:
        if len(secret) < 32:
            raise ValueError("the JWT secret must be at least 32 characters")
        return cls(secret, hashlib.sha256(secret.encode()).hexdigest()[:12])


def issue_access(key: TokenKey, user_id: str, role: Role, *, now: datetime, ttl_s: int,
                 jti: str) -> tuple[str, AccessClaims]:
    """Sign an access token valid for `ttl_s` (at most 15 min) from `now`."""
    if not 0 < ttl_s <= MAX_ACCESS_TTL_S:
        raise ValueError(f"access TTL must be 1-{MAX_ACCESS_TTL_S} s")
    iat = int(now.timestamp())
    claims = AccessClaims(sub=user_id, role=role, jti=jti, iat=iat, exp=iat + ttl_s)
    token = jwt.encode(msgspec.to_builtins(claims), key.secret, algorithm=ALGORITHM,
                       headers={"kid": key.kid})
    return token, claims


def verify_access(key: TokenKey, token: str, *, now: datetime) -> AccessClaims:
    """Verify signature, algorithm, kid, iss, aud, exp and iat against `now`; raise InvalidToken."""
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise InvalidToken(f"algorithm {header.get('alg')!r} is not allowed")
        if header.get("kid", key.kid) != key.kid:
            raise InvalidToken("unknown key id")
        payload = jwt.decode(
            token, key.secret, algorithms=ALGORITHMS, audience=AUDIENCE, issuer=ISSUER,
            # exp/iat are checked below against the injected clock, not the wall clock
            options={"require": REQUIRED, "verify_exp": False, "verify_iat": False,
                     "verify_nbf": False})
        claims = msgspec.convert(payload, AccessClaims)
    except jwt.PyJWTError as exc:
        raise InvalidToken(type(exc).__name__) from None
    except msgspec.ValidationError as exc:
        raise InvalidToken(f"bad claims: {exc}") from None
    stamp = int(now.timestamp())
    if claims.exp <= stamp:
        raise InvalidToken("expired")
    if claims.iat > stamp + 60 or claims.exp - claims.iat > MAX_ACCESS_TTL_S:
        raise InvalidToken("issued in the future or for too long")
    return claims


def new_refresh_token() -> str:
    """An opaque, unguessable refresh token (the client keeps it; we store only its hash)."""
    return secrets.token_urlsafe(32)


def refresh_hash(token: str) -> bytes:
    """The SHA-256 of a refresh token: what the repository stores and looks up."""
    return hashlib.sha256(token.encode()).digest()


def new_jti() -> str:
    return secrets.token_hex(16)
