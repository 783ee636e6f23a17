"""The firmware job's pure core: the transition table, retries, deadlines, the boot, cancel;
and the campaign's round planning. No event loop, no I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sigec_actors.domain.events import (
    FIRMWARE_UPDATE_COMPLETED,
    FIRMWARE_UPDATE_FAILED,
    FIRMWARE_UPDATE_PROGRESS,
    FIRMWARE_UPDATE_STARTED,
)
from sigec_actors.firmware.campaign import Campaign, CampaignStatus, Counts, plan
from sigec_actors.firmware.core import decide
from sigec_actors.firmware.effects import Finish, Persist, RaiseAlert, SendUpdate
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
    PROGRESS,
    TERMINAL,
    TRANSITIONS,
    JobPolicy,
    JobState,
    JobStatus,
)
from sigec_actors.ocpp.generated.v201 import FirmwareStatusEnum as F

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
POLICY = JobPolicy(request_timeout_s=600, resend_s=10, download_timeout_s=60,
                   install_timeout_s=60, boot_timeout_s=30, max_backoff_s=3600)
S = JobStatus


def job(**kw: object) -> JobState:
    base: dict[str, object] = {"job_id": uuid4(), "station_id": "CP-1", "request_id": 1001,
                               "location": "https://fw/x-2.0.bin", "version": "2.0",
                               "retrieve_at": T0, "created_at": T0}
    return JobState(**(base | kw))  # type: ignore[arg-type]


def run(state: JobState, *msgs: Decidable, at: datetime = T0) -> tuple[JobState, list[object]]:
    effects: list[object] = []
    for msg in msgs:
        state, step = decide(state, msg, at, POLICY)
        effects += step
    return state, effects


def subjects(effects: list[object]) -> list[str]:
    return [e.subject for eff in effects if isinstance(eff, Persist) for e in eff.events]


def report(status: F) -> StatusReported:
    return StatusReported(status, T0)


def test_the_table_covers_every_job_status_and_every_station_status() -> None:
    assert set(TRANSITIONS) == set(JobStatus)
    assert set(PROGRESS) | FAILURES == set(F)
    assert all(not TRANSITIONS[s] for s in TERMINAL)


def test_the_happy_path_to_completed_on_the_boot_with_the_target_version() -> None:
    state, effects = run(job(), UpdateAnswered("Accepted"), report(F.DOWNLOADING),
                         report(F.DOWNLOADED), report(F.INSTALLING), report(F.INSTALL_REBOOTING),
                         Booted("FirmwareUpdate", "2.0", T0))
    assert state.status is S.COMPLETED and state.attempts == 1 and state.completed_at == T0
    assert [h.status for h in state.history] == [
        "Accepted", "Downloading", "Downloaded", "Installing", "InstallRebooting", "Boot",
        "Completed"]
    assert subjects(effects)[0] == FIRMWARE_UPDATE_STARTED
    assert subjects(effects)[-1] == FIRMWARE_UPDATE_COMPLETED
    assert subjects(effects).count(FIRMWARE_UPDATE_PROGRESS) == 4
    assert isinstance(effects[-1], Finish)


def test_a_report_out_of_order_is_recorded_and_changes_nothing_else() -> None:
    state, _ = run(job(), UpdateAnswered("Accepted"), report(F.INSTALLING))
    assert state.status is S.INSTALLING  # a station that already holds the image may skip
    later, effects = run(state, report(F.DOWNLOADING))
    assert later.status is S.INSTALLING and later.deadline == state.deadline
    assert later.history[-1].out_of_order and later.history[-1].status == "Downloading"
    assert effects == [Persist()]  # the record is stored, no event


def test_installed_without_a_target_version_completes_and_with_one_waits_for_the_boot() -> None:
    steps = (UpdateAnswered("Accepted"), report(F.DOWNLOADED), report(F.INSTALLED))
    assert run(job(version=None), *steps)[0].status is S.COMPLETED
    state, _ = run(job(), *steps)
    assert state.status is S.INSTALLED and state.deadline == T0 + timedelta(seconds=30)


@pytest.mark.parametrize("failure", sorted(FAILURES - {F.IDLE}))
def test_each_failure_status_fails_the_job_without_retries(failure: F) -> None:
    state, effects = run(job(), UpdateAnswered("Accepted"), report(F.DOWNLOADING),
                         report(F.DOWNLOADED), report(F.INSTALLING))
    if failure not in TRANSITIONS[state.status]:
        state, effects = run(job(), UpdateAnswered("Accepted"), report(F.DOWNLOADING))
    state, effects = run(state, report(failure))
    assert state.status is S.FAILED and state.error == f"station reported {failure.value}"
    assert subjects(effects) == [FIRMWARE_UPDATE_FAILED]
    assert RaiseAlert(state.error) in effects and isinstance(effects[-1], Finish)


def test_a_failure_is_retried_with_backoff_until_the_retries_run_out() -> None:
    state, _ = run(job(max_retries=2, retry_interval_s=10), UpdateAnswered("Accepted"),
                   report(F.DOWNLOAD_FAILED))
    assert state.status is S.RETRYING and state.next_attempt_at == T0 + timedelta(seconds=10)
    assert run(state, Tick(), at=T0 + timedelta(seconds=9))[0] is state  # not yet due
    state, effects = run(state, Tick(), at=T0 + timedelta(seconds=10))
    assert state.status is S.REQUESTED and SendUpdate() in effects
    state, _ = run(state, UpdateAnswered("Accepted"), report(F.DOWNLOAD_FAILED))
    assert state.status is S.RETRYING and state.attempts == 2
    assert state.next_attempt_at == T0 + timedelta(seconds=20)  # doubled
    state, _ = run(state, Tick(), UpdateAnswered("Accepted"), report(F.DOWNLOAD_FAILED),
                   at=T0 + timedelta(seconds=20))
    assert state.status is S.FAILED and state.attempts == 3


def test_phase_deadlines_fail_the_attempt_and_say_why() -> None:
    state, _ = run(job(), UpdateAnswered("Accepted"), report(F.INSTALL_REBOOTING))
    assert run(state, Tick(), at=T0 + timedelta(seconds=29))[0] is state
    failed, _ = run(state, Tick(), at=T0 + timedelta(seconds=30))
    assert failed.status is S.FAILED and failed.error is not None
    assert "no BootNotification reporting 2.0 within 30 s" in failed.error


def test_a_boot_with_another_version_fails_the_attempt_other_boots_are_recorded() -> None:
    state, _ = run(job(), UpdateAnswered("Accepted"), report(F.INSTALLING))
    same, _ = run(state, Booted("PowerUp", "1.0", T0))
    assert same.status is S.INSTALLING and same.history[-1].status == "Boot"
    failed, _ = run(state, Booted("FirmwareUpdate", "1.0", T0))
    assert failed.status is S.FAILED
    assert failed.error == "booted after the update with firmware 1.0, expected 2.0"


def test_an_undelivered_update_is_sent_again_and_on_the_stations_boot() -> None:
    state, _ = run(job(), UpdateAnswered(error="StationOffline: offline"))
    assert state.status is S.REQUESTED and state.next_attempt_at == T0 + timedelta(seconds=10)
    assert SendUpdate() in run(state, Tick(), at=T0 + timedelta(seconds=10))[1]
    assert SendUpdate() in run(state, Booted("PowerUp", "1.0", T0))[1]
    refused, _ = run(job(max_retries=5), UpdateAnswered("Rejected"))
    assert refused.status is S.FAILED  # the station refuses the request itself: no retry


def test_cancel_ends_a_live_job_and_a_finished_job_ignores_everything() -> None:
    state, effects = run(job(), UpdateAnswered("Accepted"), CancelJob("ana"))
    assert state.status is S.CANCELLED and isinstance(effects[-1], Finish)
    assert run(state, report(F.DOWNLOADING), Tick())[0] is state


MESSAGES = st.one_of(
    st.sampled_from(list(F)).map(report),
    st.sampled_from(["FirmwareUpdate", "PowerUp"]).flatmap(
        lambda r: st.sampled_from(["1.0", "2.0"]).map(lambda v: Booted(r, v, T0))),
    st.sampled_from(["Accepted", "Rejected"]).map(UpdateAnswered),
    st.just(UpdateAnswered(error="offline")), st.just(Tick()))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(MESSAGES, st.integers(0, 120)), max_size=25))
def test_any_sequence_keeps_the_invariants(script: list[tuple[Decidable, int]]) -> None:
    """Terminal stays terminal; attempts never pass retries + 1; completion needs the target
    version booted; history only grows; a step stores at most once."""
    state, now = job(max_retries=1, retry_interval_s=5), T0
    for msg, seconds in script:
        now += timedelta(seconds=seconds)
        new, effects = decide(state, msg, now, POLICY)
        assert sum(isinstance(e, Persist) for e in effects) <= 1  # one compare-and-set a step
        if state.status in TERMINAL:
            assert new is state
        assert new.attempts <= new.max_retries + 1
        assert len(new.history) >= min(len(state.history), 200)
        if new.status is S.COMPLETED and state.status is not S.COMPLETED:
            assert isinstance(msg, Booted) and msg.version == "2.0"
        state = new


def _campaign(**kw: object) -> Campaign:
    base: dict[str, object] = {"campaign_id": uuid4(), "location": "x", "version": "2.0",
                               "station_ids": tuple(f"CP-{i}" for i in range(50)),
                               "max_concurrent": 10, "failure_threshold_percent": 10,
                               "created_at": T0}
    return Campaign(**(base | kw))  # type: ignore[arg-type]


def test_a_campaign_round_fills_up_to_max_concurrent_stops_past_the_threshold() -> None:
    campaign = _campaign()
    assert plan(campaign, Counts({}, 50)).start == 10
    assert plan(campaign, Counts({"Downloading": 7, "Completed": 3}, 40)).start == 3
    assert plan(campaign, Counts({"Downloading": 1, "Completed": 48}, 1)).start == 1
    edge = Counts({"Failed": 1, "Completed": 9}, 40)  # exactly 10 %: not past it
    assert plan(campaign, edge).status is None
    past = plan(campaign, Counts({"Failed": 2, "Completed": 9}, 39))
    assert past.status is CampaignStatus.STOPPED and "2 of 11 jobs failed" in (past.reason or "")
    assert plan(campaign, Counts({"Completed": 50}, 0)).status is CampaignStatus.COMPLETED
    paused = _campaign(status=CampaignStatus.PAUSED)
    assert plan(paused, Counts({}, 50)).start == 0


def test_a_first_report_before_the_update_answer_counts_as_the_acceptance() -> None:
    state, effects = run(job(max_retries=1), report(F.DOWNLOAD_FAILED))
    assert state.status is S.RETRYING and state.attempts == 1  # retried, not failed
    assert [h.status for h in state.history][:2] == ["Accepted", "DownloadFailed"]
    assert sum(isinstance(e, Persist) for e in effects) == 1  # one compare-and-set
    assert subjects(effects) == [FIRMWARE_UPDATE_STARTED, FIRMWARE_UPDATE_PROGRESS]
    late, _ = run(state, UpdateAnswered("Accepted"))
    assert late is state  # the answer that arrives after is ignored
