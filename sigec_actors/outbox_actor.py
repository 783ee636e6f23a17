"""The outbox relay as a supervised actor: drains event_outbox to JetStream, restarts on a crash."""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable

import msgspec
import structlog
from nats.aio.client import Client

from sigec_actors.adapters.outbox import OutboxRelay, PgOutbox
from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.ports import DbPool
from sigec_actors.runtime import Actor, ActorDead, ExitReason, MailboxFull, TimerHandle
from sigec_actors.services.metrics import Metrics

log = structlog.get_logger("outbox")


class Drain(msgspec.Struct, frozen=True):
    """Publish what is waiting now (a NOTIFY, a timer, or a full batch just went out)."""


class RelayTiming(msgspec.Struct, frozen=True):
    """How often the relay looks without a NOTIFY, and how it backs off while failing."""

    poll_interval_s: float = 1.0
    max_backoff_s: float = 5.0
    restart_delay_s: float = 1.0  # a restarted relay waits this long before its first drain


DRAIN = Drain()


class OutboxRelayActor(Actor[Drain]):
    """Runs `OutboxRelay.drain_once` one pass per message, under a supervisor.

    Storage and bus outages are expected: the relay backs off and retries in order. Anything
    else crashes the actor; its supervisor starts a fresh relay (new LISTEN connection), which
    waits `restart_delay_s` first so a crash loop cannot exhaust the restart intensity. A lost
    LISTEN connection stops the actor too (it is permanent: restarted at once).
    """

    __slots__ = ("_backoff", "_make", "_queued", "_relay", "_timer", "_timing")

    def __init__(self, make_relay: Callable[[], OutboxRelay], timing: RelayTiming) -> None:
        self._make = make_relay
        self._timing = timing
        self._relay: OutboxRelay | None = None
        self._backoff = 0.0
        self._queued = False
        self._timer: TimerHandle | None = None

    async def on_start(self) -> None:
        self._relay = self._make()
        await self._relay.listen(self._poke, self._listener_lost)
        if self.ctx.restarts:
            self._backoff = self._timing.restart_delay_s  # pokes wait for the timer
            self._timer = self.ctx.after(self._timing.restart_delay_s, DRAIN)
        else:
            self._poke()

    async def receive(self, msg: Drain) -> None:
        assert self._relay is not None
        self._queued = False
        self._cancel_timer()
        try:
            done, failed = await self._relay.drain_once()
        except DB_FAILURES as exc:  # storage outage: retry later, in order
            log.warning("outbox_db_unavailable", error=repr(exc))
            done, failed = 0, True
        if failed:
            self._backoff = min(max(self._backoff * 2, 0.05), self._timing.max_backoff_s)
            self._timer = self.ctx.after(self._backoff, DRAIN)
            return
        self._backoff = 0.0
        if done >= self._relay.batch_size:
            self._poke()  # more rows are probably waiting
        else:
            self._timer = self.ctx.after(self._timing.poll_interval_s, DRAIN)

    async def on_stop(self, reason: ExitReason) -> None:
        if self._relay is not None:
            await self._relay.unlisten()

    def state_summary(self) -> str:
        return f"backing off {self._backoff:g} s" if self._backoff else "draining"

    def _poke(self) -> None:
        """Drain soon, unless a drain is queued or the relay is backing off."""
        if self._queued or self._backoff:
            return
        with contextlib.suppress(MailboxFull, ActorDead):
            self.ctx.self_ref.tell(DRAIN)
            self._queued = True

    def _listener_lost(self) -> None:
        log.warning("outbox_listener_lost")
        self.ctx.stop()

    def _cancel_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()


def relay_actor(pool: DbPool, nc: Client, *, timing: RelayTiming | None = None,
                publish_timeout_s: float = 2.0) -> Callable[[], OutboxRelayActor]:
    """The factory of the node's relay actor: reads the server's max_payload after connect,
    opens `outbox_parked` alerts through PgAlerts."""
    alerts = PgAlerts(pool)

    def make_relay() -> OutboxRelay:
        return OutboxRelay(pool, nc.jetstream(), max_payload=lambda: int(nc.max_payload),
                           alerts=alerts, publish_timeout_s=publish_timeout_s)

    return lambda: OutboxRelayActor(make_relay, timing or RelayTiming())


def backlog_gauges(outbox: PgOutbox) -> Callable[[Metrics], Awaitable[None]]:
    """A metrics scrape hook setting the outbox gauges (left as they were if the DB fails)."""

    async def hook(metrics: Metrics) -> None:
        try:
            backlog = await outbox.backlog()
        except DB_FAILURES as exc:
            log.warning("outbox_backlog_unavailable", error=repr(exc))
            return
        metrics.observe_outbox(backlog.unsent, backlog.oldest_age_s, backlog.parked)

    return hook
