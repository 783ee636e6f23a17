"""Per-actor timers: deliver a message to the actor's own mailbox once or periodically."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sigec_actors.runtime.clock import TimerHandle
    from sigec_actors.runtime.context import ActorContext


class Timer:
    """Handle returned by `ctx.after` / `ctx.every`; `cancel()` stops further deliveries."""

    __slots__ = ("_ctx", "_handle", "_interval", "_msg")

    def __init__(
        self, ctx: ActorContext[Any], msg: Any, delay_s: float, interval_s: float | None
    ) -> None:
        self._ctx = ctx
        self._msg = msg
        self._interval = interval_s
        self._handle: TimerHandle = ctx.clock.call_later(delay_s, self._fire)

    def cancel(self) -> None:
        """Cancel future deliveries; harmless if already fired or cancelled."""
        self._handle.cancel()
        self._ctx.discard_timer(self)

    def _fire(self) -> None:
        once = self._interval is None
        if self._interval is not None:
            # rescheduled before delivery so a periodic timer keeps its cadence
            self._handle = self._ctx.clock.call_later(self._interval, self._fire)
        self._ctx.timer_fired(self, self._msg, once=once)
