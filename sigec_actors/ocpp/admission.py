"""Handshake admission: limits per identity, source and IP, bounded argon2 work, verified cache."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import os
import secrets

import structlog

from sigec_actors.domain.errors import CacheUnavailable
from sigec_actors.errors import SigecError
from sigec_actors.ports import Cache
from sigec_actors.services.passwords import Passwords

log = structlog.get_logger("ocpp.admission")

_VERIFIED = b"1"
USUAL_TTL_S = 30 * 24 * 3600.0
"""How long an address a station verified from stays its usual address (renewed on each
verification there)."""


class RateLimited(SigecError):
    """Too many failed or costly handshakes for `scope` `subject`: "ip" (failures from one
    address), "source" (verifications of one identity from one address) or "identity"
    (verifications of one identity from addresses it never verified from)."""

    def __init__(self, scope: str, subject: str, retry_after_s: int) -> None:
        self.scope = scope
        self.subject = subject
        self.retry_after_s = retry_after_s
        super().__init__(f"handshake rate limit for {scope} {subject}")


class VerifierBusy(SigecError):
    """More password verifications are queued than the node can finish within a handshake."""

    def __init__(self, waiting: int) -> None:
        self.waiting = waiting
        super().__init__(f"{waiting} password verifications already waiting")


class Admission:
    """Decides whether a handshake may spend argon2 work, and remembers recent successes (S6, R12).

    - per IP: at most `ip_failures` failed handshakes per window; then the IP is deny-listed
      until the window ends and refused before any database or argon2 work;
    - per identity and source address: at most `identity_verifications` argon2 verifications
      per window. Counters are taken *before* the verification (atomic INCR), so concurrent
      guesses cannot overshoot; a legitimate station needs one, as its success is then cached;
    - per identity, from strangers: an address the identity has not verified from within
      `usual_ttl_s` also draws on a budget of `stranger_verifications` per window shared by
      all strangers, so guessing spread over many addresses stays bounded. Every successful
      verification remembers its address as usual (shared store, all nodes agree), and the
      usual address is exempt from that budget: strangers who exhaust it cannot keep the
      station out (S6). What remains: a station at an address it never verified from, with no
      verified entry, waits for the window while strangers keep the budget exhausted;
    - a verified (identity, password, stored hash) is remembered for `verified_ttl_s` under a
      keyed digest, so a reconnect storm does not redo argon2 for every station; the stored hash
      is part of the key, so a password rotation (TC_A_09) invalidates the entry by itself;
    - at most `concurrency` verifications run at once (the IP check is repeated inside that
      bound so concurrent bad guesses cannot slip past it) and at most `max_waiting` wait.

    Cache reads and writes of limits fail closed: CacheUnavailable propagates to the caller.
    """

    __slots__ = ("_cache", "_digest_key", "_id_limit", "_inflight", "_ip_limit", "_max_waiting",
                 "_passwords", "_slots", "_stranger_limit", "_ttl", "_usual_ttl", "_waiting",
                 "_window")

    def __init__(self, cache: Cache, passwords: Passwords, *, concurrency: int = 0,
                 digest_key: bytes | None = None, identity_verifications: int = 5,
                 stranger_verifications: int = 10, ip_failures: int = 30, window_s: int = 60,
                 verified_ttl_s: float = 900.0, usual_ttl_s: float = USUAL_TTL_S,
                 max_waiting: int = 256) -> None:
        self._cache = cache
        self._passwords = passwords
        self._slots = asyncio.Semaphore(concurrency or os.cpu_count() or 1)
        # Random per process unless the node passes a shared secret (then nodes share entries).
        self._digest_key = digest_key or secrets.token_bytes(32)
        self._id_limit = identity_verifications
        self._stranger_limit = stranger_verifications
        self._usual_ttl = usual_ttl_s
        self._ip_limit = ip_failures
        self._window = window_s
        self._ttl = verified_ttl_s
        self._max_waiting = max_waiting
        self._waiting = 0
        self._inflight: dict[str, asyncio.Event] = {}

    async def check_ip(self, ip: str) -> None:
        """Raise RateLimited if `ip` is deny-listed; CacheUnavailable if the cache is down."""
        if await self._cache.is_denied(_ip_key(ip)):
            raise RateLimited("ip", ip, self._window)

    async def failed(self, ip: str) -> None:
        """Count one failed handshake from `ip`; deny-list it once over the limit."""
        try:
            if await self._cache.hit("ocpp:fail:" + ip, self._window) >= self._ip_limit:
                await self._cache.deny(_ip_key(ip), self._window)
        except CacheUnavailable as exc:
            # The handshake is refused anyway; the limit cannot be recorded while the cache is down.
            log.warning("handshake_failure_not_counted", ip=ip, error=str(exc))

    async def verify(self, identity: str, ip: str, password: str, password_hash: str) -> bool:
        """True when `password` matches; consults the verified cache before any argon2 work.

        Concurrent handshakes with the same credentials share one verification (a station that
        opens several sockets at once, or a storm of duplicates, costs one argon2 run).
        A mismatch is counted against `ip` here (callers must not count it again).
        Raises RateLimited, VerifierBusy or CacheUnavailable, all before argon2 runs.
        """
        key = self._verified_key(identity, password, password_hash)
        while True:
            if await self._cache.get(key) == _VERIFIED:
                return True
            pending = self._inflight.get(key)
            if pending is None:
                break
            await pending.wait()  # then look at the cache again: the leader may have succeeded
        done = self._inflight[key] = asyncio.Event()
        try:
            ok = await self._verify_once(identity, ip, password, password_hash)
            if ok:
                await self._cache.set(key, _VERIFIED, self._ttl)
            return ok
        finally:
            del self._inflight[key]
            done.set()

    async def _verify_once(self, identity: str, ip: str, password: str,
                           password_hash: str) -> bool:
        if self._waiting >= self._max_waiting:
            raise VerifierBusy(self._waiting)
        self._waiting += 1
        try:
            async with self._slots:
                await self.check_ip(ip)
                await self._take_budget(identity, ip)
                ok = await self._passwords.verify(password_hash, password)
                if ok:
                    await self._remember_usual(identity, ip)
                else:
                    # Counted inside the bound, so the next waiter's IP check already sees it.
                    await self.failed(ip)
                return ok
        finally:
            self._waiting -= 1

    async def _take_budget(self, identity: str, ip: str) -> None:
        """Count one verification of `identity` from `ip`; RateLimited when over a budget."""
        if await self._cache.hit(_source_key(identity, ip), self._window) > self._id_limit:
            raise RateLimited("source", f"{identity} from {ip}", self._window)
        if await self._cache.remembers(_usual_key(identity, ip)):
            return  # the station's usual address: the strangers' budget does not apply
        if await self._cache.hit("ocpp:strangers:" + identity, self._window) > self._stranger_limit:
            log.warning("handshake_strangers_limited", station_id=identity, ip=ip)
            raise RateLimited("identity", identity, self._window)

    async def _remember_usual(self, identity: str, ip: str) -> None:
        """Remember `ip` as a usual address of `identity` (shared by all nodes)."""
        try:
            await self._cache.remember(_usual_key(identity, ip), self._usual_ttl)
        except CacheUnavailable as exc:
            # Not remembering only keeps the address a stranger (stricter): admit anyway.
            log.warning("handshake_usual_address_not_kept", station_id=identity, ip=ip,
                        error=str(exc))

    def _verified_key(self, identity: str, password: str, password_hash: str) -> str:
        message = "\x00".join((identity, password, password_hash)).encode()
        return "ocpp:ok:" + hmac.new(self._digest_key, message, hashlib.sha256).hexdigest()


def _ip_key(ip: str) -> str:
    # Lives in the cache's deny-list namespace, beside access-token ids (which are never "ocpp:").
    return "ocpp:ip:" + ip


def _source_key(identity: str, ip: str) -> str:
    # An identity never contains ':' (it is the Basic-auth username), so the key is unambiguous.
    return f"ocpp:vfy:{identity}:{ip}"


def _usual_key(identity: str, ip: str) -> str:
    return f"ocpp:usual:{identity}:{ip}"
