"""argon2id password hashing with pinned parameters and bounded concurrency."""

from __future__ import annotations

import asyncio
import os
import secrets
import string

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

# OWASP minimum for argon2id: m = 19 MiB, t = 2, p = 1; pinned rather than library defaults.
MEMORY_KIB = 19 * 1024
TIME_COST = 2
PARALLELISM = 1

_ALPHABET = string.ascii_letters + string.digits


class Passwords:
    """Hash and verify passwords off the event loop, at most `concurrency` at a time.

    The bound keeps a burst of logins or station handshakes from starving the loop and
    memory (each hash holds 19 MiB while it runs).
    """

    def __init__(self, concurrency: int = 0) -> None:
        self._hasher = PasswordHasher(
            time_cost=TIME_COST, memory_cost=MEMORY_KIB, parallelism=PARALLELISM,
            hash_len=32, salt_len=16, type=Type.ID,
        )
        self._slots = asyncio.Semaphore(concurrency or os.cpu_count() or 1)

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


def generate_password(length: int = 24) -> str:
    """A strong random password of letters and digits (valid as an OCPP BasicAuthPassword)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
