"""Accounts and sessions: register, login (throttled), refresh rotation, logout, token checks."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from uuid import UUID

import msgspec
import structlog

from sigec_actors.domain.errors import CacheUnavailable, RefreshTokenError
from sigec_actors.domain.records import NewUser, Role, User, UserStatus
from sigec_actors.errors import SigecError
from sigec_actors.ports import Cache, RefreshTokenRepository, UserRepository
from sigec_actors.services import tokens
from sigec_actors.services.accounts import (
    InvalidEmail,
    PasswordRules,
    WeakPassword,
    email_key,
    normalize_email,
)
from sigec_actors.services.passwords import Passwords
from sigec_actors.services.session_cut import cut_key
from sigec_actors.services.tokens import AccessClaims, InvalidToken, TokenKey

__all__ = ["AuthService", "InvalidCredentials", "InvalidEmail", "LoginPolicy",
           "LoginThrottled", "RegistrationPolicy", "RegistrationThrottled", "TokenPair",
           "WeakPassword"]

log = structlog.get_logger("auth")


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


class RegistrationThrottled(SigecError):
    """Too many registrations from one client address; retry after `retry_after_s`."""

    def __init__(self, retry_after_s: int) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(f"too many registrations from this address; retry in {retry_after_s} s")


class TokenPair(msgspec.Struct, frozen=True):
    access_token: str
    refresh_token: str
    expires_in: int
    claims: AccessClaims


@dataclass(frozen=True)
class LoginPolicy:
    """Login throttling (A5), per client address and per account.

    - `ip_attempts` per `ip_window_s` from one address, over all accounts.
    - `source_failures` wrong passwords for one account from one address within
      `failure_window_s` lock that pair (account, address) for the window: an attacker
      locks out only themself, never the owner (admin included) elsewhere.
    - `account_failures` wrong passwords for one account from all addresses together within
      the window (distributed guessing) guard the account for the window: only addresses it
      has logged in from before may try; others get 429 and their password is not checked.
      A successful login remembers its address for `known_source_ttl_s`.
    """

    source_failures: int = 5
    failure_window_s: int = 900
    account_failures: int = 20
    known_source_ttl_s: int = 90 * 86400
    ip_attempts: int = 30
    ip_window_s: int = 60


@dataclass(frozen=True)
class RegistrationPolicy:
    """Self-registration: `per_ip` attempts per `window_s` per address; password rules."""

    per_ip: int = 5
    window_s: int = 3600
    passwords: PasswordRules = field(default_factory=PasswordRules)


class AuthService:
    """The account and session rules; HTTP-free, with clock and ids injected."""

    def __init__(self, users: UserRepository, refresh_tokens: RefreshTokenRepository,
                 cache: Cache, passwords: Passwords, key: TokenKey, *,
                 access_ttl_s: int, refresh_ttl_s: int, clock: Callable[[], datetime],
                 ids: Callable[[], str] = tokens.new_jti,
                 policy: LoginPolicy | None = None,
                 registration: RegistrationPolicy | None = None) -> None:
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
        self._registration = registration or RegistrationPolicy()
        self._dummy_hash: str | None = None

    async def register(self, name: str, email: str, password: str, ip: str,
                       role: Role = Role.USER) -> User:
        """Create an account.

        Raises HashingBusy (the registration lane is full: checked first, and again before
        the password's strength, which is judged inside the lane), RegistrationThrottled
        (every other attempt from `ip` counts), InvalidEmail, WeakPassword or EmailTaken.
        """
        rules = self._registration
        self._passwords.ensure_registration_room()  # shed a flood before any I/O or CPU
        if await self._cache.hit(f"register:ip:{ip}", rules.window_s) > rules.per_ip:
            raise RegistrationThrottled(rules.window_s)
        address = normalize_email(email)
        # zxcvbn is pure Python (up to ~40 ms): it runs in the bounded registration lane
        password_hash = await self._passwords.hash_new_account(
            password, vet=partial(rules.passwords.check, user_inputs=(address, name)))
        return await self._users.create(NewUser(name, address, password_hash, role))

    async def login(self, email: str, password: str, ip: str) -> TokenPair:
        """Tokens for valid credentials (see LoginPolicy for the throttling).

        Raises LoginThrottled, InvalidEmail, InvalidCredentials, or CacheUnavailable (fail
        closed: with no shared counters we cannot bound password guessing, so we do not
        check passwords).
        """
        policy = self._policy
        if await self._cache.hit(f"login:ip:{ip}", policy.ip_window_s) > policy.ip_attempts:
            raise LoginThrottled("ip", policy.ip_window_s)
        account = email_key(normalize_email(email))
        await self._admit(account, ip)
        user = await self._users.get_by_email(account)
        ok = await self._passwords.verify(
            user.password_hash if user else await self._dummy(), password)
        if not ok or user is None or user.status != UserStatus.ACTIVE:
            await self._failed(account, ip)
            raise InvalidCredentials
        await self._remember_source(account, ip)
        return await self._issue(user.id, user.role, family=None)

    async def _remember_source(self, account: str, ip: str) -> None:
        """Remember `ip` as an address the account logs in from (shared by every node)."""
        try:
            await self._cache.remember(f"login:known:{account}:{ip}",
                                       self._policy.known_source_ttl_s)
        except CacheUnavailable as exc:
            # Not remembering only keeps the address unknown (stricter): log in anyway.
            log.warning("login_source_not_kept", account=account, ip=ip, error=str(exc))

    async def _admit(self, account: str, ip: str) -> None:
        """LoginThrottled when this (account, address) is locked, or the account is guarded
        and the address is not one it logged in from before."""
        window = self._policy.failure_window_s
        if await self._cache.is_denied(f"login-lock:{account}:{ip}"):
            raise LoginThrottled("account", window)
        if (await self._cache.is_denied(f"login-guard:{account}")
                and not await self._cache.remembers(f"login:known:{account}:{ip}")):
            raise LoginThrottled("account", window)

    async def _failed(self, account: str, ip: str) -> None:
        """Count a failure for the (account, address) pair and for the account."""
        policy = self._policy
        window = policy.failure_window_s
        pair = await self._cache.hit(f"login:fail:{account}:{ip}", window)
        if pair >= policy.source_failures:
            await self._cache.deny(f"login-lock:{account}:{ip}", window)
            log.warning("login_locked", account=account, ip=ip, failures=pair)
        total = await self._cache.hit(f"login:fail:{account}", window)
        if total >= policy.account_failures:
            await self._cache.deny(f"login-guard:{account}", window)
            log.warning("login_guarded", account=account, ip=ip, failures=total)

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
        denied = await asyncio.gather(  # the token itself, or its user's sessions were cut
            self._cache.is_denied(claims.jti),
            self._cache.is_denied(cut_key(claims.sub, claims.iat)))
        if any(denied):
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
