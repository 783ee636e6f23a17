"""The V2G session's pure core: lifecycle table, stop conditions, duplicate and late samples."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from msgspec.structs import replace

from sigec_actors.v2g_session.effects import CheckPrice, Finish, Persist, SendClear, Settle
from sigec_actors.v2g_session.errors import IllegalTransition
from sigec_actors.v2g_session.messages import (
    ClearAnswered,
    MeterReported,
    MeterSample,
    PriceObserved,
    ProfileAnswered,
    StationPresence,
    StopRequested,
    Tick,
    TransactionEnded,
)
from sigec_actors.v2g_session.state import (
    TRANSITIONS,
    SessionPolicy,
    Status,
    V2GState,
    decide,
    transition,
)

T0 = datetime(2026, 1, 28, 20, 50, tzinfo=UTC)


def session(**kw: object) -> V2GState:
    base = V2GState(session_id=uuid.uuid4(), user_id=uuid.uuid4(), station_id="CP-1",
                    evse_id=1, transaction_id=None, station_transaction_id="tx-1",
                    mode="v201_negative_limit", profile_id=9001, max_discharge_w=7000,
                    min_soc=30, policy=SessionPolicy(offline_grace_s=300))
    return replace(base, **kw)


def active(**kw: object) -> V2GState:
    state, _ = decide(session(**kw), ProfileAnswered(True), T0)
    return state


def meter(at: datetime, export: int | None = None, soc: int | None = None,
          power: int | None = None) -> MeterReported:
    return MeterReported((MeterSample(at, export, soc, power),))


def test_every_illegal_transition_is_a_typed_error() -> None:
    for current in Status:
        for wanted in Status:
            state = session(status=current)
            if wanted in TRANSITIONS[current]:
                assert transition(state, wanted).status is wanted
            else:
                with pytest.raises(IllegalTransition) as info:
                    transition(state, wanted)
                assert (info.value.current, info.value.wanted) == (current.value, wanted.value)


def test_accepted_profile_starts_and_rejected_one_fails() -> None:
    started, effects = decide(session(), ProfileAnswered(True), T0)
    assert started.status is Status.ACTIVE and started.started_at == T0
    assert [e.subject for e in effects[0].events] == ["v2g.session.started"]  # type: ignore[union-attr]
    failed, effects = decide(session(), ProfileAnswered(False, "Rejected"), T0)
    assert failed.status is Status.FAILED and failed.stop_reason == "rejected: Rejected"
    assert isinstance(effects[-1], Finish) and not any(isinstance(e, Settle) for e in effects)


def test_first_sample_is_the_baseline_and_export_is_counted_from_it() -> None:
    state = active()
    state, _ = decide(state, meter(T0, export=1_000, soc=80, power=7000), T0)
    assert (state.exported_wh, state.start_soc, state.current_soc) == (0, 80, 80)
    state, effects = decide(state, meter(T0 + timedelta(minutes=5), export=1_600, soc=78), T0)
    assert state.exported_wh == 600 and state.current_soc == 78
    assert isinstance(effects[0], Persist) and len(effects[0].samples) == 1


def test_duplicate_and_late_samples_never_lower_the_export() -> None:
    state = active()
    for at, wh in ((0, 100), (10, 700), (10, 700), (5, 400)):  # a repeat, then a late one
        state, _ = decide(state, meter(T0 + timedelta(minutes=at), export=wh, soc=70), T0)
    assert state.exported_wh == 600
    assert state.last_sample_at == T0 + timedelta(minutes=10)
    # a late sample does not overwrite the newest SoC; one before the baseline is dropped
    state, effects = decide(state, meter(T0 + timedelta(minutes=7), export=500, soc=90), T0)
    assert state.current_soc == 70
    state, effects = decide(state, meter(T0 - timedelta(minutes=1), export=0, soc=95), T0)
    assert effects == [] and state.exported_wh == 600


@pytest.mark.parametrize(("kw", "sample", "reason"), [
    ({}, {"export": 900, "soc": 30}, "min_soc"),
    ({"max_energy_wh": 800}, {"export": 900, "soc": 60}, "energy_cap"),
    ({"until": T0 + timedelta(seconds=30)}, {"export": 900, "soc": 60}, "until"),
])
def test_limits_stop_with_a_clear(kw: dict[str, object], sample: dict[str, int],
                                  reason: str) -> None:
    state = active(**kw)
    state, _ = decide(state, meter(T0, export=100, soc=80), T0)
    later = T0 + timedelta(minutes=1)
    state, effects = decide(state, meter(later, **sample), later)
    assert state.status is Status.STOPPING and state.stop_reason == reason
    assert [type(e) for e in effects] == [Persist, SendClear]  # samples and status in one write
    assert effects[0].samples and effects[0].events[0].subject == "v2g.session.updated"  # type: ignore[union-attr]
    done, effects = decide(state, ClearAnswered(True), T0)
    assert done.status is Status.COMPLETED and done.stop_reason == reason
    assert [type(e) for e in effects] == [Persist, Settle, Finish]


def test_price_below_the_floor_stops_and_above_it_does_not() -> None:
    state = active(min_price_centavos_mwh=50_000)
    assert decide(state, Tick(), T0)[1] == [CheckPrice()]
    assert decide(state, PriceObserved(60_000), T0)[0] is state
    stopped, _ = decide(state, PriceObserved(40_000), T0)
    assert stopped.stop_reason == "price_below_floor"


def test_transaction_end_completes_without_a_clear() -> None:
    state, effects = decide(active(), TransactionEnded(), T0)
    assert state.status is Status.COMPLETED and state.stop_reason == "transaction_ended"
    assert not any(isinstance(e, SendClear) for e in effects)


def test_offline_past_the_grace_completes_and_back_in_time_resumes() -> None:
    state, _ = decide(active(), StationPresence(False), T0)
    assert state.offline_since == T0
    assert decide(state, Tick(), T0 + timedelta(seconds=299))[0].status is Status.ACTIVE
    back, _ = decide(state, StationPresence(True), T0 + timedelta(seconds=100))
    assert back.offline_since is None
    gone, effects = decide(state, Tick(), T0 + timedelta(seconds=300))
    assert gone.status is Status.COMPLETED and gone.stop_reason == "station_offline"
    assert Settle() in effects


def test_user_stop_before_the_answer_fails_the_session_and_after_the_end_is_a_no_op() -> None:
    failed, _ = decide(session(), StopRequested(), T0)
    assert failed.status is Status.FAILED
    done, _ = decide(active(), TransactionEnded(), T0)
    assert decide(done, StopRequested(), T0) == (done, [])
    assert decide(done, meter(T0, export=5), T0) == (done, [])


class Lifecycle(RuleBasedStateMachine):
    """Any order of messages: legal statuses only, export never decreases, settled once."""

    def __init__(self) -> None:
        super().__init__()
        self.state = session(max_energy_wh=50_000)
        self.now = T0
        self.settles = 0
        self.exported = 0

    def _step(self, msg: object) -> None:
        before = self.state.status
        self.state, effects = decide(self.state, msg, self.now)  # type: ignore[arg-type]
        assert self.state.status is before or self.state.status in TRANSITIONS[before]
        self.settles += sum(isinstance(e, Settle) for e in effects)
        # one write per step: the actor writes compare-and-set on the status it started from
        assert sum(isinstance(e, Persist) for e in effects) <= 1, effects

    @rule(accepted=st.booleans())
    def answer(self, accepted: bool) -> None:
        self._step(ProfileAnswered(accepted))

    @rule(minutes=st.integers(-30, 120), export=st.integers(0, 60_000),
          soc=st.none() | st.integers(0, 100))
    def sample(self, minutes: int, export: int, soc: int | None) -> None:
        self._step(meter(T0 + timedelta(minutes=minutes), export=export, soc=soc))

    @rule(seconds=st.integers(0, 900))
    def time_passes(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)
        self._step(Tick())

    @rule(online=st.booleans())
    def link(self, online: bool) -> None:
        self._step(StationPresence(online))

    @rule()
    def user_stops(self) -> None:
        self._step(StopRequested())

    @precondition(lambda self: self.state.status is Status.STOPPING)
    @rule(ok=st.booleans())
    def cleared(self, ok: bool) -> None:
        self._step(ClearAnswered(ok))

    @rule()
    def transaction_ends(self) -> None:
        self._step(TransactionEnded())

    @invariant()
    def export_never_decreases(self) -> None:
        assert self.state.exported_wh >= self.exported
        self.exported = self.state.exported_wh

    @invariant()
    def settled_at_most_once_and_only_when_completed(self) -> None:
        assert self.settles <= 1
        assert self.settles == 0 or self.state.status is Status.COMPLETED


TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
