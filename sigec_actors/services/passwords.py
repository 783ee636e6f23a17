"""argon2id password hashing with pinned parameters and bounded concurrency."""

from __future__ import annotations

import asyncio
import os
import secrets
import string
from collections.abc import Callable
from typing import Protocol

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sigec_actors.errors import SigecError

# OWASP minimum for argon2id: m = 19 MiB, t = 2, p = 1; pinned rather than library defaults.
MEMORY_KIB = 19 * 1024
TIME_COST = 2
PARALLELISM = 1
BUSY_RETRY_S = 5

_ALPHABET = string.ascii_letters + string.digits


class Hasher(Protocol):
    """The blocking hash function (argon2's PasswordHasher; tests inject gated ones)."""

    def hash(self, password: str) -> str: ...
    def verify(self, hash: str, password: str) -> bool: ...


class HashingBusy(SigecError):
    """The registration lane's queue is full; retry after `retry_after_s`."""

    def __init__(self, waiting: int, retry_after_s: int = BUSY_RETRY_S) -> None:
        self.waiting = waiting
        self.retry_after_s = retry_after_s
        super().__init__(f"{waiting} registrations already wait for password hashing")


class Passwords:
    """Hash and verify passwords off the event loop, at most `concurrency` at a time.

    The bound keeps a burst of logins or station handshakes from starving the loop and
    memory (each hash holds 19 MiB while it runs). New accounts hash through a lane of
    their own (`hash_new_account`): at most `registration_slots` of the slots, never all of
    them when there are two or more, and at most `registration_queue` waiting, beyond which
    HashingBusy answers at once; so a registration flood cannot queue logins and station
    handshakes behind it.
    """

    def __init__(self, concurrency: int = 0, *, registration_slots: int = 1,
                 registration_queue: int = 16, hasher: Hasher | None = None) -> None:
        self._hasher: Hasher = hasher or PasswordHasher(
            time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM,
            hash_len=32, salt_len=16, type=Type.ID,
        )
        slots = concurrency or os.cpu_count() or 1
        self._slots = asyncio.Semaphore(slots)
        self.registration_slots = max(1, min(registration_slots, slots - 1))
        self._lane = asyncio.Semaphore(self.registration_slots)
        self._queue = registration_queue
        self._in_lane = 0

    def hash_sync(self, password: str) -> str:
        """Hash on the calling thread (CLI use)."""
        return self._hasher.hash(password)

    def verify_sync(self, password_hash: str, password: str) -> bool:
        """Constant-time verify on the calling thread; False on mismatch or a malformed hash."""
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self.hash_sync, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        async with self._slots:
            return await asyncio.to_thread(self.verify_sync, password_hash, password)

    def ensure_registration_room(self) -> None:
        """HashingBusy now if the registration lane's queue is full (a cheap early refusal)."""
        if self._in_lane >= self.registration_slots + self._queue:
            raise HashingBusy(self._in_lane - self.registration_slots)

    async def hash_new_account(self, password: str,
                               vet: Callable[[str], None] | None = None) -> str:
        """Hash through the registration lane; HashingBusy when its queue is full.

        `vet` (a password-strength check that raises) runs in the lane too, on a worker
        thread: a flood beyond the queue is refused before any CPU is spent on it, and at
        most the lane's slots run checks, so they never queue a login's verify behind them
        in the default thread pool.
        """
        self.ensure_registration_room()
        self._in_lane += 1
        try:
            async with self._lane:
                if vet is not None:
                    await asyncio.to_thread(vet, password)
                return await self.hash(password)
        finally:
            self._in_lane -= 1


def generate_password(length: int = 24) -> str:
    """A strong random password of letters and digits (valid as an OCPP BasicAuthPassword)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
