"""The firmware job's functional core: `decide(state, msg, now) -> (state, effects)`, no I/O."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import assert_never

from msgspec.structs import replace

from sigec_actors.domain.events import (
    FIRMWARE_UPDATE_COMPLETED,
    FIRMWARE_UPDATE_FAILED,
    FIRMWARE_UPDATE_PROGRESS,
    FIRMWARE_UPDATE_STARTED,
)
from sigec_actors.domain.records import OutboxMessage
from sigec_actors.firmware.effects import Effect, Finish, Persist, RaiseAlert, SendUpdate
from sigec_actors.firmware.messages import (
    Booted,
    CancelJob,
    Decidable,
    StatusReported,
    Tick,
    UpdateAnswered,
)
from sigec_actors.firmware.state import (
    FAILURES,
    INSTALL_PHASE,
    MAX_HISTORY,
    ON_STATION,
    PROGRESS,
    TERMINAL,
    HistoryEntry,
    JobPolicy,
    JobState,
    JobStatus,
    accepts,
)

S = JobStatus
Step = tuple[JobState, list[Effect]]
ACCEPTED_ANSWERS = frozenset({"Accepted", "AcceptedCanceled"})
FIRMWARE_UPDATE = "FirmwareUpdate"


def decide(state: JobState, msg: Decidable, now: datetime, policy: JobPolicy) -> Step:
    """The job's next state and what to do; a finished job ignores everything."""
    if state.status in TERMINAL:
        return state, []
    match msg:
        case StatusReported():
            return _reported(state, msg, now, policy)
        case Booted():
            return _booted(state, msg, now, policy)
        case UpdateAnswered():
            return _answered(state, msg, now, policy)
        case Tick():
            return _tick(state, now, policy)
        case CancelJob(by=by):
            new = _to(state, S.CANCELLED, now, f"cancelled by {by}")
            new = replace(new, completed_at=now, deadline=None, next_attempt_at=None)
            return new, [Persist((_event(FIRMWARE_UPDATE_PROGRESS, new, now),)), Finish()]
        case _:
            assert_never(msg)


_PHASES: dict[JobStatus, tuple[str, str]] = {
    S.REQUESTED: ("now", "request_timeout_s"),
    S.ACCEPTED: ("retrieve", "download_timeout_s"),
    S.DOWNLOAD_SCHEDULED: ("retrieve", "download_timeout_s"),
    S.DOWNLOADING: ("now", "download_timeout_s"),
    S.DOWNLOAD_PAUSED: ("now", "download_timeout_s"),
    S.DOWNLOADED: ("install", "install_timeout_s"),
    S.SIGNATURE_VERIFIED: ("install", "install_timeout_s"),
    S.INSTALL_SCHEDULED: ("install", "install_timeout_s"),
    S.INSTALLING: ("now", "install_timeout_s"),
    S.INSTALL_REBOOTING: ("now", "boot_timeout_s"),
    S.INSTALLED: ("now", "boot_timeout_s"),
}
"""Each watched phase: from when (now, the retrieve or install time) and which timeout."""


def deadline_of(status: JobStatus, state: JobState, now: datetime,
                policy: JobPolicy) -> datetime | None:
    """When the phase `status` (entered `now`) times out; None for unwatched statuses."""
    phase = _PHASES.get(status)
    if phase is None:
        return None
    base, timeout = phase
    start = now
    if base == "retrieve":
        start = max(now, state.retrieve_at)
    elif base == "install" and state.install_at is not None:
        start = max(now, state.install_at)
    return start + timedelta(seconds=getattr(policy, timeout))


def _reported(state: JobState, msg: StatusReported, now: datetime, policy: JobPolicy) -> Step:
    report = msg.status
    if not accepts(state.status, report):
        return _record(state, report.value, msg.at, f"out of order after {state.status.value}")
    if state.status is S.REQUESTED:  # the report overtook the UpdateFirmware answer
        accepted = _accepted(state, now, policy, "implied by the station's first report")
        new, effects = _reported(accepted, msg, now, policy)
        events = [e for eff in effects if isinstance(eff, Persist) for e in eff.events]
        rest = [eff for eff in effects if not isinstance(eff, Persist)]
        return new, [Persist((_event(FIRMWARE_UPDATE_STARTED, accepted, now), *events)), *rest]
    if report in FAILURES:
        return _fail_attempt(state, now, policy, f"station reported {report.value}",
                             report.value)
    target = PROGRESS[report]
    new = replace(_to(state, target, msg.at), station_status=report.value)
    if target is S.INSTALLED and state.version is None:
        return _complete(new, now, "installed (no target version to check at boot)")
    if target is not state.status:
        new = replace(new, deadline=deadline_of(target, state, now, policy))
    return new, [Persist((_event(FIRMWARE_UPDATE_PROGRESS, new, now),))]


def _accepted(state: JobState, now: datetime, policy: JobPolicy, note: str) -> JobState:
    """A new attempt the station took on."""
    return replace(_to(state, S.ACCEPTED, now, note), attempts=state.attempts + 1, error=None,
                   next_attempt_at=None, deadline=deadline_of(S.ACCEPTED, state, now, policy))


def _booted(state: JobState, msg: Booted, now: datetime, policy: JobPolicy) -> Step:
    note = f"boot {msg.reason}, firmware {msg.version}"
    if state.status is S.REQUESTED:  # back online: deliver UpdateFirmware now
        new, _ = _record(state, "Boot", msg.at, note)
        return new, [Persist(), SendUpdate()]
    if state.status not in INSTALL_PHASE:
        return _record(state, "Boot", msg.at, note)
    if state.version is not None and msg.version == state.version:
        return _complete(_to(state, "Boot", msg.at, note), now, None)
    if msg.reason == FIRMWARE_UPDATE:
        if state.version is None:
            return _complete(_to(state, "Boot", msg.at, note), now, None)
        return _fail_attempt(state, now, policy,
                             f"booted after the update with firmware {msg.version}, "
                             f"expected {state.version}", "Boot")
    return _record(state, "Boot", msg.at, note)


def _answered(state: JobState, msg: UpdateAnswered, now: datetime, policy: JobPolicy) -> Step:
    if state.status is not S.REQUESTED:
        return state, []  # a late answer: the first report already moved the job on
    if msg.error is not None:  # offline, busy, no answer: try again later
        new = replace(state, error=f"UpdateFirmware not delivered: {msg.error}",
                      next_attempt_at=now + timedelta(seconds=policy.resend_s))
        return new, [Persist()]
    if msg.status in ACCEPTED_ANSWERS:
        new = _accepted(state, now, policy, f"UpdateFirmware {msg.status}")
        return new, [Persist((_event(FIRMWARE_UPDATE_STARTED, new, now),))]
    return _fail(state, now, f"station answered UpdateFirmware with {msg.status}", "Rejected")


def _tick(state: JobState, now: datetime, policy: JobPolicy) -> Step:
    due = state.next_attempt_at
    if state.status is S.RETRYING and due is not None and now >= due:
        new = replace(_to(state, S.REQUESTED, now, f"attempt {state.attempts + 1}"),
                      next_attempt_at=None, deadline=deadline_of(S.REQUESTED, state, now,
                                                                 policy))
        return new, [Persist(), SendUpdate()]
    if state.deadline is not None and now >= state.deadline:
        if state.status is S.REQUESTED:
            return _fail(state, now, "the station did not accept UpdateFirmware within "
                         f"{policy.request_timeout_s:g} s", "Timeout")
        return _fail_attempt(state, now, policy, _timeout_reason(state, policy), "Timeout")
    if state.status is S.REQUESTED and due is not None and now >= due:
        return replace(state, next_attempt_at=None), [SendUpdate()]
    return state, []


def _timeout_reason(state: JobState, policy: JobPolicy) -> str:
    if state.status in (S.INSTALL_REBOOTING, S.INSTALLED):
        return (f"no BootNotification reporting {state.version} within "
                f"{policy.boot_timeout_s:g} s after {state.status.value} "
                "(station offline during install?)")
    return f"no progress from the station within the deadline while {state.status.value}"


def _fail_attempt(state: JobState, now: datetime, policy: JobPolicy, reason: str,
                  label: str) -> Step:
    """The attempt failed: retry after a backoff while retries remain, else fail the job."""
    if state.status not in ON_STATION or state.attempts > state.max_retries:
        return _fail(state, now, reason, label)
    backoff = min(state.retry_interval_s * 2 ** max(state.attempts - 1, 0),
                  policy.max_backoff_s)
    new = replace(_to(state, label, now, reason), status=S.RETRYING, error=reason,
                  station_status=label, deadline=None,
                  next_attempt_at=now + timedelta(seconds=backoff))
    new = _to(new, S.RETRYING, now, f"next attempt in {backoff:g} s")
    return new, [Persist((_event(FIRMWARE_UPDATE_PROGRESS, new, now),))]


def _fail(state: JobState, now: datetime, reason: str, label: str) -> Step:
    new = replace(_to(_to(state, label, now, reason), S.FAILED, now), error=reason,
                  deadline=None, next_attempt_at=None, completed_at=now)
    return new, [Persist((_event(FIRMWARE_UPDATE_FAILED, new, now),)), RaiseAlert(reason),
                 Finish()]


def _complete(state: JobState, now: datetime, note: str | None) -> Step:
    new = replace(_to(state, S.COMPLETED, now, note), error=None, deadline=None,
                  next_attempt_at=None, completed_at=now)
    return new, [Persist((_event(FIRMWARE_UPDATE_COMPLETED, new, now),)), Finish()]


def _record(state: JobState, status: str, at: datetime, note: str) -> Step:
    """Keep an unexpected report in the history only (it changes nothing else)."""
    entry = HistoryEntry(status, at, note, out_of_order=note.startswith("out of order"))
    return replace(state, history=(*state.history, entry)[-MAX_HISTORY:]), [Persist()]


def _to(state: JobState, status: JobStatus | str, at: datetime,
        note: str | None = None) -> JobState:
    entry = HistoryEntry(str(status), at, note)
    new = replace(state, history=(*state.history, entry)[-MAX_HISTORY:])
    return replace(new, status=status) if isinstance(status, JobStatus) else new


def _event(subject: str, state: JobState, now: datetime) -> OutboxMessage:
    payload: dict[str, object] = {
        "jobId": str(state.job_id), "chargePointId": state.station_id,
        "requestId": state.request_id, "status": state.status.value,
        "stationStatus": state.station_status, "version": state.version,
        "attempt": state.attempts, "at": now.isoformat()}
    if state.campaign_id is not None:
        payload["campaignId"] = str(state.campaign_id)
    if state.error is not None:
        payload["error"] = state.error
    return OutboxMessage(subject, payload)
