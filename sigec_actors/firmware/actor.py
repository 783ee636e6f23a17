"""The FirmwareJob actor: the imperative shell that runs `decide`'s effects as I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, assert_never
from uuid import UUID

from msgspec.structs import replace

from sigec_actors.adapters.pg import DB_FAILURES, STORAGE_FAILURES
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.firmware.core import decide
from sigec_actors.firmware.effects import Effect, Finish, Persist, RaiseAlert, SendUpdate
from sigec_actors.firmware.messages import (
    CancelJob,
    Decidable,
    FirmwareJobMsg,
    GetJob,
    Tick,
)
from sigec_actors.firmware.ports import JobAlerts, JobStore, UpdateSender
from sigec_actors.firmware.state import JobPolicy, JobState, JobStatus
from sigec_actors.runtime import Actor, ExitReason


@dataclass(frozen=True, slots=True)
class JobDeps:
    """What every FirmwareJob actor of a node needs (built once, see wiring.py)."""

    store: JobStore
    sender: UpdateSender
    alerts: JobAlerts
    node: str
    policy: JobPolicy = field(default_factory=JobPolicy)
    tick_s: float = 5.0
    on_exit: Callable[[UUID, JobState | None], None] | None = None


class FirmwareJob(Actor[FirmwareJobMsg]):
    """One firmware update of one station, at `/node-N/firmware/<jobId>`.

    Its state lives in `firmware_updates`: each step is written (compare-and-set on the
    status, under this node's lease) before the next message, so an incarnation started after
    a restart reloads it and carries on where it was.
    """

    __slots__ = ("_deps", "_job_id", "_state")

    def __init__(self, job_id: UUID, deps: JobDeps) -> None:
        self._job_id = job_id
        self._deps = deps
        self._state: JobState | None = None

    @property
    def state(self) -> JobState | None:
        return self._state

    async def on_start(self) -> None:
        """Reload the job; a new (or interrupted) request is sent on the first tick, right
        after the start (so whoever started the actor does not wait for the station)."""
        try:
            state = await self._deps.store.load(self._job_id)
        except DB_FAILURES as exc:  # not a crash loop: the next claim round starts it again
            self.ctx.log.error("firmware.load_failed", job=str(self._job_id), error=repr(exc))
            self.ctx.stop()
            return
        if state is None or not state.live:
            self.ctx.stop()
            return
        if state.status is JobStatus.REQUESTED and state.next_attempt_at is None:
            state = replace(state, next_attempt_at=self.ctx.clock.now())
        self._state = state
        self.ctx.every(self._deps.tick_s, Tick())
        self.ctx.after(0, Tick())

    async def receive(self, msg: FirmwareJobMsg) -> Any:
        """One message at a time; GetJob and CancelJob answer the job state."""
        if isinstance(msg, GetJob):
            return self._state
        await self._handle(msg)
        return self._state if isinstance(msg, CancelJob) else None

    async def on_stop(self, reason: ExitReason) -> None:
        if self._deps.on_exit is not None:
            self._deps.on_exit(self._job_id, self._state)

    def state_summary(self) -> str:
        s = self._state
        if s is None:
            return "not loaded"
        return (f"{s.status.value}, {s.station_id} request {s.request_id}, "
                f"attempt {s.attempts}/{s.max_retries + 1}")

    async def _handle(self, msg: Decidable) -> None:
        old = self._state
        if old is None:
            return
        new, effects = decide(old, msg, self.ctx.clock.now(), self._deps.policy)
        if new is old and not effects:
            return
        self._state = new
        await self._run(old, effects)

    async def _run(self, old: JobState, effects: list[Effect]) -> None:
        for effect in effects:
            match effect:
                case Persist(events=events):
                    if not await self._save(old, events):
                        return
                case SendUpdate():
                    await self._send()
                case RaiseAlert(reason=reason):
                    await self._alert(reason)
                case Finish():
                    self.ctx.stop()
                case _:
                    assert_never(effect)

    async def _save(self, old: JobState, events: tuple[OutboxMessage, ...]) -> bool:
        """Store the step; False when it was not (the rest of the step is dropped)."""
        assert self._state is not None
        try:
            saved = await self._deps.store.save(old.status, self._state, self._deps.node,
                                                events)
        except DB_FAILURES as exc:  # the row keeps the old step: so does the actor; the
            self._state = old  # next tick or report tries again (deadlines still hold)
            self.ctx.log.error("firmware.save_failed", job=str(self._job_id), error=repr(exc))
            return False
        if not saved:
            await self._moved()  # another writer moved it: its state is the truth
        return saved

    async def _send(self) -> None:
        state = self._state
        assert state is not None
        answer = await self._deps.sender.update(state)
        await self._handle(answer)

    async def _alert(self, reason: str) -> None:
        assert self._state is not None
        try:
            await self._deps.alerts.failed(self._state, reason)
        except STORAGE_FAILURES as exc:  # the job's failure is stored; the alert is extra
            self.ctx.log.error("firmware.alert_failed", job=str(self._job_id), error=repr(exc))

    async def _moved(self) -> None:
        """Cancelled meanwhile, or taken over by another node: reload and step aside."""
        self.ctx.stop()
        try:
            self._state = state = await self._deps.store.load(self._job_id)
        except DB_FAILURES:
            return
        self.ctx.log.warning("firmware.job_moved", job=str(self._job_id),
                             status=state.status.value if state else None)
