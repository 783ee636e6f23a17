"""autoDischarge plans, pure: runs from windows, the job's step, the lifecycle; UF -> submarket."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigec_actors.config import load_settings
from sigec_actors.errors import ConfigError
from sigec_actors.v2g.optimize import Window
from sigec_actors.v2g.plans import (
    PlanStatus,
    PlanTransitionRefused,
    Run,
    StoredPlan,
    cancel,
    new_plan,
    runs,
    step,
)
from sigec_actors.v2g.pricing import Submarket
from sigec_actors.v2g.submarkets import location_state, state_submarket, uf_from_address

H = datetime(2026, 3, 10, 12, tzinfo=UTC)


def w(start_min: int, end_min: int, power: int = 7_000) -> Window:
    return Window(start=H + timedelta(minutes=start_min), end=H + timedelta(minutes=end_min),
                  power_w=power, expected_wh=power * (end_min - start_min) // 60,
                  price_centavos_per_mwh=50_000)


def plan_of(*windows: Window) -> StoredPlan:
    return new_plan(uuid.uuid4(), user_id=uuid.uuid4(), station_id="CP-1", evse_id=1,
                    transaction_id=uuid.uuid4(), windows=windows, min_soc=40,
                    departure_at=H + timedelta(hours=8), now=H - timedelta(hours=1))


def apply(plan: StoredPlan, now: datetime, **checks: bool) -> tuple[StoredPlan, Run | None]:
    change = step(plan, now, transaction_active=checks.get("tx", True),
                  auto_discharge=checks.get("auto", True))
    return msgspec.structs.replace(plan, status=change.status, next_run=change.next_run,
                                   next_start_at=change.next_start_at,
                                   cancel_reason=change.cancel_reason), change.start


def test_adjacent_windows_are_one_run_and_gaps_or_other_powers_split() -> None:
    merged = runs([w(120, 180), w(60, 120), w(240, 270), w(270, 300, 3_000)])
    assert [(r.start, r.end, r.expected_wh) for r in merged] == [
        (H + timedelta(minutes=60), H + timedelta(minutes=180), 14_000),
        (H + timedelta(minutes=240), H + timedelta(minutes=270), 3_500),
        (H + timedelta(minutes=270), H + timedelta(minutes=300), 1_500)]


def test_a_new_plan_is_due_at_its_first_run() -> None:
    plan = plan_of(w(120, 180), w(60, 90))
    assert (plan.status, plan.next_run, plan.next_start_at) == (
        PlanStatus.PLANNED, 0, H + timedelta(minutes=60))


def test_each_run_starts_at_its_start_until_its_end_then_the_plan_expires() -> None:
    plan = plan_of(w(0, 60), w(60, 90), w(180, 200))
    plan, run = apply(plan, H + timedelta(seconds=5))
    assert run is not None and (run.start, run.end) == (H, H + timedelta(minutes=90))
    assert (plan.status, plan.next_start_at) == (PlanStatus.STARTED, H + timedelta(minutes=180))
    plan, run = apply(plan, H + timedelta(minutes=180))
    assert run is not None and run.end == H + timedelta(minutes=200)
    assert plan.next_start_at == H + timedelta(minutes=200)  # back at its end to expire it
    plan, run = apply(plan, H + timedelta(minutes=200))
    assert run is None and (plan.status, plan.next_start_at) == (PlanStatus.EXPIRED, None)


def test_a_missed_run_is_skipped_and_a_late_job_starts_the_run_under_way() -> None:
    plan = plan_of(w(0, 30), w(60, 120), w(180, 200))
    plan, run = apply(plan, H + timedelta(minutes=45))  # the first run is over: not started
    assert run is None and (plan.status, plan.next_run) == (PlanStatus.PLANNED, 1)
    assert plan.next_start_at == H + timedelta(minutes=60)
    plan, run = apply(plan, H + timedelta(minutes=100))  # late, but the run is still on
    assert run is not None and run.start == H + timedelta(minutes=60)
    assert run.end == H + timedelta(minutes=120)


@pytest.mark.parametrize(("checks", "reason"), [
    ({"tx": False}, "transaction_ended"), ({"auto": False}, "auto_discharge_off")])
def test_a_plan_without_its_transaction_or_autodischarge_is_cancelled(
        checks: dict[str, bool], reason: str) -> None:
    plan, run = apply(plan_of(w(0, 60)), H, **checks)
    assert run is None
    assert (plan.status, plan.cancel_reason, plan.next_start_at) == (
        PlanStatus.CANCELLED, reason, None)


def test_a_finished_plan_never_moves() -> None:
    plan, _ = apply(plan_of(w(0, 60)), H, tx=False)
    with pytest.raises(PlanTransitionRefused):
        cancel(plan, "user")
    with pytest.raises(PlanTransitionRefused):
        step(plan, H, transaction_active=True, auto_discharge=True)


@given(st.lists(st.tuples(st.integers(0, 120), st.integers(1, 90)), min_size=1, max_size=6),
       st.lists(st.integers(1, 120), min_size=1, max_size=40))
def test_any_job_timing_starts_each_run_at_most_once_inside_it(
        spans: list[tuple[int, int]], gaps: list[int]) -> None:
    starts = [sum(g + d for g, d in spans[:i]) + spans[i][0] for i in range(len(spans))]
    plan = plan_of(*(w(s, s + d) for s, (_, d) in zip(starts, spans, strict=True)))  # disjoint
    todo, started, now = runs(plan.windows), [], H - timedelta(minutes=5)
    for gap in gaps:
        now += timedelta(minutes=gap)
        if plan.status not in (PlanStatus.PLANNED, PlanStatus.STARTED):
            break
        if plan.next_start_at is None or plan.next_start_at > now:
            continue  # the job only takes due plans
        plan, run = apply(plan, now)
        if run is not None:
            assert run.start <= now < run.end
            started.append(run)
    assert len(started) == len(set(started))  # never twice
    assert started == sorted(started, key=lambda r: r.start)
    assert all(r in todo for r in started)
    if now >= todo[-1].end and plan.next_start_at is not None and plan.next_start_at <= now:
        assert apply(plan, now)[0].status is PlanStatus.EXPIRED


def test_the_default_state_table_follows_ons_regions() -> None:
    table = load_settings({}).v2g.state_submarkets
    assert len(table) == 27  # 26 states and the Federal District
    expected = {"N": "AC AM AP PA RO RR TO", "NE": "AL BA CE MA PB PE PI RN SE",
                "SE": "ES GO MG MS MT RJ SP DF", "S": "PR RS SC"}
    assert table == {uf: sub for sub, ufs in expected.items() for uf in ufs.split()}
    assert state_submarket("ba", table) is Submarket.NE
    assert state_submarket("XX", table) is None and state_submarket(None, table) is None


def test_an_address_gives_its_uf_only_when_it_ends_with_a_known_one() -> None:
    table = load_settings({}).v2g.state_submarkets
    assert uf_from_address("Av. Paulista, 1000 - Bela Vista, São Paulo - SP", table) == "SP"
    assert uf_from_address("Rua da Aurora 10, Recife/PE, 50050-000", table) == "PE"
    assert uf_from_address("Av. Sete de Setembro, Salvador - BA 40060-000", table) == "BA"
    assert uf_from_address("Rua XV de Novembro, Curitiba", table) is None
    assert uf_from_address("Unit 4 - UK", table) is None
    assert uf_from_address(None, table) is None
    assert location_state("rj", "ignored - SP", table) == "RJ"


def test_an_overlay_changes_one_state_and_bad_entries_are_config_errors(tmp_path: object) -> None:
    from pathlib import Path

    overlay = Path(str(tmp_path)) / "overlay.toml"
    overlay.write_text('[v2g]\nstate_submarkets.MA = "N"\n')
    table = load_settings({}, overlay=overlay).v2g.state_submarkets
    assert (table["MA"], table["BA"], len(table)) == ("N", "NE", 27)
    overlay.write_text('[v2g]\nstate_submarkets.MA = "CO"\n')
    with pytest.raises(ConfigError, match="state_submarkets"):
        load_settings({}, overlay=overlay)
    env = {"SIGEC_V2G__STATE_SUBMARKETS": "MA=N, TO=NE"}
    table = load_settings(env).v2g.state_submarkets
    assert (table["MA"], table["TO"], table["SP"]) == ("N", "NE", "SE")
    for bad in ("MA", "MA=CO", "Maranhao=N"):
        with pytest.raises(ConfigError, match=r"(?i)state_submarkets"):
            load_settings({"SIGEC_V2G__STATE_SUBMARKETS": bad})
