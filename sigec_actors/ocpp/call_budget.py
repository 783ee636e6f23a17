"""Per-connection CALL budget (S8): a token bucket, pure (the caller passes the time).

A station may send `rate_per_s` CALLs per second sustained, and `burst` at once after a quiet
spell; a CALL over budget is answered CALLERROR GenericError "rate limited" without reaching its
actor, so one chatty or hostile station cannot starve the node. CALLRESULTs and CALLERRORs
spend from the same budget (a flood of answers to unknown ids costs the node as much); one
over budget is dropped, as an unmatched answer would be. `rate_per_s <= 0` disables it.
"""

from __future__ import annotations

import msgspec

LOG_EVERY_S = 10.0
"""A flood's repeated warning is logged at most once per this many seconds per connection."""


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


class LogThrottle:
    """At most one log line per `every_s` (monotonic, passed by the caller); the lines held
    back in between are counted and reported with the next one, so a flood of one kind of
    frame cannot flood the log too."""

    __slots__ = ("_every", "_held", "_next")

    def __init__(self, every_s: float) -> None:
        self._every = every_s
        self._next = float("-inf")
        self._held = 0

    def admit(self, now: float) -> int | None:
        """None: hold this line back; else log it, with this many lines held back since."""
        if now < self._next:
            self._held += 1
            return None
        held, self._held = self._held, 0
        self._next = now + self._every
        return held
