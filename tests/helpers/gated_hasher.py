"""A Hasher whose hashes wait for a gate, counting how many are in flight (no timing)."""

from __future__ import annotations

import asyncio
import threading

from argon2 import PasswordHasher, Type

GATE_TIMEOUT_S = 60.0  # a thread left waiting by a failed test gives up after this


class GatedHasher:
    """Cheap argon2id for real; `hash` blocks until `open()`; `verify` never waits."""

    def __init__(self) -> None:
        self._real = PasswordHasher(time_cost=1, memory_cost=64, parallelism=1, type=Type.ID)
        self._gate = threading.Event()
        self._lock = threading.Lock()
        self.hashing = 0
        self.most_hashing = 0
        self.verified = 0

    def open(self) -> None:
        self._gate.set()

    def hash(self, password: str) -> str:
        with self._lock:
            self.hashing += 1
            self.most_hashing = max(self.most_hashing, self.hashing)
        try:
            self._gate.wait(GATE_TIMEOUT_S)
            return self._real.hash(password)
        finally:
            with self._lock:
                self.hashing -= 1

    def verify(self, hash: str, password: str) -> bool:
        with self._lock:
            self.verified += 1
        return self._real.verify(hash, password)

    async def until_hashing(self, count: int) -> None:
        """Yield to the loop and the worker threads until `count` hashes are in flight."""
        while self.hashing < count:
            await asyncio.sleep(0.01)
