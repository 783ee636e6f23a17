"""Per-connection CALL budget (S8): a token bucket, pure (the caller passes the time).

A station may send `rate_per_s` CALLs per second sustained, and `burst` at once after a quiet
spell; a CALL over budget is answered CALLERROR GenericError "rate limited" without reaching its
actor, so one chatty or hostile station cannot starve the node. `rate_per_s <= 0` disables it.
"""

from __future__ import annotations

import msgspec


class BudgetSpec(msgspec.Struct, frozen=True):
    """The budget of one connection: refill rate and bucket size."""

    rate_per_s: float = 20.0
    burst: int = 50

    @property
    def limited(self) -> bool:
        return self.rate_per_s > 0

    def describe(self) -> str:
        return f"more than {self.rate_per_s:g} CALLs/s (burst {self.burst})"


class CallBudget:
    """A token bucket that starts full; `take(now)` spends one token if there is one."""

    __slots__ = ("_at", "_burst", "_rate", "_tokens")

    def __init__(self, spec: BudgetSpec, now: float) -> None:
        self._rate = spec.rate_per_s
        self._burst = float(max(spec.burst, 1))
        self._tokens = self._burst
        self._at = now

    def take(self, now: float) -> bool:
        """True (and one token spent) if the CALL is within budget at monotonic time `now`."""
        if self._rate <= 0:
            return True
        elapsed = now - self._at
        if elapsed > 0:
            self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
            self._at = now
        if self._tokens >= 1.0 - 1e-9:  # float refills: 0.04 s + 0.01 s at 20/s is one token
            self._tokens = max(0.0, self._tokens - 1.0)
            return True
        return False
