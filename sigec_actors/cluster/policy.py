"""Restart intensity for node processes: at most `max_restarts` within `within_s`, then escalate."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field


@dataclass
class RestartIntensity:
    """OTP restart intensity over a sliding window; time is passed in (monotonic seconds)."""

    max_restarts: int = 5
    within_s: float = 60.0
    _times: deque[float] = field(default_factory=deque)

    def allow(self, now: float) -> bool:
        """Record one restart at `now`; False when it would exceed the intensity (escalate)."""
        while self._times and now - self._times[0] >= self.within_s:
            self._times.popleft()
        if len(self._times) >= self.max_restarts:
            return False
        self._times.append(now)
        return True

    @property
    def recent(self) -> int:
        """Restarts inside the current window (as of the last `allow`)."""
        return len(self._times)
