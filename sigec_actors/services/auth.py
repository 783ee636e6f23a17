"""Accounts and sessions: register, login (throttled), refresh rotation, logout, token checks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import msgspec
import structlog

from sigec_actors.domain.errors import RefreshTokenError
from sigec_actors.domain.records import NewUser, Role, User, UserStatus
from sigec_actors.errors import SigecError
from sigec_actors.ports import Cache, RefreshTokenRepository, UserRepository
from sigec_actors.services import tokens
from sigec_actors.services.passwords import Passwords
from sigec_actors.services.tokens import AccessClaims, InvalidToken, TokenKey

log = structlog.get_logger("auth")

MIN_PASSWORD = 10
MAX_PASSWORD = 128


class InvalidCredentials(SigecError):
    """Wrong email or password (never says which)."""

    def __init__(self) -> None:
        super().__init__("invalid email or password")


class LoginThrottled(SigecError):
    """Too many login attempts for `scope` (account or ip); retry after `retry_after_s`."""

    def __init__(self, scope: str, retry_after_s: int) -> None:
        self.scope = scope
        self.retry_after_s = retry_after_s
        super().__init__(f"too many login attempts ({scope}); retry in {retry_after_s} s")


class WeakPassword(SigecError):
    """A user password outside the accepted length."""

    def __init__(self, problem: str) -> None:
        self.problem = problem
        super().__init__(f"password {problem}")


class TokenPair(msgspec.Struct, frozen=True):
    access_token: str
    refresh_token: str
    expires_in: int
    claims: AccessClaims


@dataclass(frozen=True)
class LoginPolicy:
    """Throttling limits (A5): failures per account per window, attempts per IP per minute."""

    account_failures: int = 5
    account_window_s: int = 900
    ip_attempts: int = 30
    ip_window_s: int = 60


class AuthService:
    """The account and session rules; HTTP-free, with clock and ids injected."""

    def __init__(self, users: UserRepository, refresh_tokens: RefreshTokenRepository,
                 cache: Cache, passwords: Passwords, key: TokenKey, *,
                 access_ttl_s: int, refresh_ttl_s: int, clock: Callable[[], datetime],
                 ids: Callable[[], str] = tokens.new_jti,
                 policy: LoginPolicy | None = None) -> None:
        self._users = users
        self._refresh = refresh_tokens
        self._cache = cache
        self._passwords = passwords
        self._key = key
        self._access_ttl_s = access_ttl_s
        self._refresh_ttl_s = refresh_ttl_s
        self._clock = clock
        self._ids = ids
        self._policy = policy or LoginPolicy()
        self._dummy_hash: str | None = None

    async def register(self, name: str, email: str, password: str,
                       role: Role = Role.USER) -> User:
        """Create an account; raises WeakPassword or EmailTaken."""
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise WeakPassword(f"must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
        password_hash = await self._passwords.hash(password)
        return await self._users.create(NewUser(name, email.strip(), password_hash, role))

    async def login(self, email: str, password: str, ip: str) -> TokenPair:
        """Tokens for valid credentials.

        Raises LoginThrottled, InvalidCredentials, or CacheUnavailable (fail closed: with no
        shared counters we cannot bound password guessing, so we do not check passwords).
        """
        account = email.strip().lower()
        policy = self._policy
        if await self._cache.hit(f"login:ip:{ip}", policy.ip_window_s) > policy.ip_attempts:
            raise LoginThrottled("ip", policy.ip_window_s)
        if await self._cache.is_denied(f"login-lock:{account}"):
            raise LoginThrottled("account", policy.account_window_s)
        user = await self._users.get_by_email(account)
        ok = await self._passwords.verify(
            user.password_hash if user else await self._dummy(), password)
        if not ok or user is None or user.status != UserStatus.ACTIVE:
            failures = await self._cache.hit(f"login:fail:{account}", policy.account_window_s)
            if failures >= policy.account_failures:
                await self._cache.deny(f"login-lock:{account}", policy.account_window_s)
                log.warning("login_locked", account=account, ip=ip, failures=failures)
            raise InvalidCredentials
        return await self._issue(user.id, user.role, family=None)

    async def refresh(self, refresh_token: str) -> TokenPair:
        """Rotate a refresh token; raises RefreshTokenError (reuse revokes the whole family)."""
        now = self._clock()
        new = tokens.new_refresh_token()
        try:
            stored = await self._refresh.rotate(
                tokens.refresh_hash(refresh_token), tokens.refresh_hash(new), now,
                now + timedelta(seconds=self._refresh_ttl_s))
        except RefreshTokenError as exc:
            log.warning("refresh_rejected", reason=exc.reason, family=str(exc.family_id))
            raise
        user = await self._users.get(stored.user_id)
        if user is None or user.status != UserStatus.ACTIVE:
            await self._refresh.revoke_family(stored.family_id, now, "account inactive")
            raise InvalidCredentials
        return self._pair(user.id, user.role, new)

    async def logout(self, claims: AccessClaims, refresh_token: str | None) -> None:
        """Deny-list the access token until it expires and revoke the caller's refresh token."""
        now = self._clock()
        await self._cache.deny(claims.jti, claims.exp - now.timestamp())
        if refresh_token:
            token_hash = tokens.refresh_hash(refresh_token)
            stored = await self._refresh.get(token_hash)
            if stored is not None and str(stored.user_id) == claims.sub:
                await self._refresh.revoke(token_hash, now, "logout")

    async def authenticate(self, bearer: str) -> AccessClaims:
        """Verify an access token and check the deny-list (fails closed: CacheUnavailable)."""
        claims = tokens.verify_access(self._key, bearer, now=self._clock())
        if await self._cache.is_denied(claims.jti):
            raise InvalidToken("revoked")
        return claims

    async def _issue(self, user_id: UUID, role: Role, family: UUID | None) -> TokenPair:
        now = self._clock()
        refresh = tokens.new_refresh_token()
        await self._refresh.issue(user_id, tokens.refresh_hash(refresh), now,
                                  now + timedelta(seconds=self._refresh_ttl_s), family)
        return self._pair(user_id, role, refresh)

    def _pair(self, user_id: UUID, role: Role, refresh: str) -> TokenPair:
        access, claims = tokens.issue_access(self._key, str(user_id), role, now=self._clock(),
                                             ttl_s=self._access_ttl_s, jti=self._ids())
        return TokenPair(access, refresh, self._access_ttl_s, claims)

    async def _dummy(self) -> str:
        """A real hash to verify against for unknown emails, so timing does not reveal them."""
        if self._dummy_hash is None:
            self._dummy_hash = await self._passwords.hash(tokens.new_refresh_token())
        return self._dummy_hash
