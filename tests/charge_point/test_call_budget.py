"""S8: a station's CALLs over its budget get CALLERROR GenericError and never reach its actor."""

from __future__ import annotations

import msgspec
from hypothesis import given
from hypothesis import strategies as st
from structlog.testing import capture_logs

from sigec_actors.ocpp.call_budget import BudgetSpec, CallBudget
from sigec_actors.testing.ocpp import ChargePointHarness
from tests.charge_point.conftest import BOOT


def test_the_bucket_starts_full_and_refills_at_the_rate() -> None:
    budget = CallBudget(BudgetSpec(rate_per_s=20, burst=5), now=100.0)
    assert [budget.take(100.0) for _ in range(6)] == [True] * 5 + [False]
    assert budget.take(100.04) is False      # 0.8 of a token
    assert budget.take(100.05) is True       # one token after 50 ms
    assert budget.take(100.05) is False
    assert [budget.take(1000.0) for _ in range(6)] == [True] * 5 + [False]  # capped at burst


def test_a_zero_rate_is_no_limit() -> None:
    budget = CallBudget(BudgetSpec(rate_per_s=0, burst=1), now=0.0)
    assert all(budget.take(0.0) for _ in range(10_000))


@given(st.lists(st.floats(min_value=0, max_value=0.5), min_size=1, max_size=300))
def test_never_more_than_burst_plus_rate_times_elapsed(gaps: list[float]) -> None:
    spec = BudgetSpec(rate_per_s=20, burst=50)
    budget, now, taken = CallBudget(spec, 0.0), 0.0, 0
    for gap in gaps:
        now += gap
        taken += budget.take(now)
        assert taken <= spec.burst + spec.rate_per_s * now + 1e-9


async def test_over_budget_calls_are_refused_without_reaching_the_actor() -> None:
    async with ChargePointHarness(budget=BudgetSpec(rate_per_s=20, burst=3)) as h:
        await h.register("CP-1")
        link, sink = await h.connect("CP-1")
        assert (await h.call(sink, link, "BootNotification", BOOT))[0] == 3
        for _ in range(2):
            assert (await h.call(sink, link, "Heartbeat", {}))[0] == 3
        processed = h.system.context("/node-1/charge-points/CP-1").processed
        with capture_logs() as logs:
            refused = [await h.call(sink, link, "Heartbeat", {}) for _ in range(150)]
        assert {(f[0], f[2]) for f in refused} == {(4, "GenericError")}
        assert refused[0][3] == "rate limited: more than 20 CALLs/s (burst 3)"
        assert h.system.context("/node-1/charge-points/CP-1").processed == processed
        limited = [e for e in logs if e["event"] == "ocpp_call_rate_limited"]
        assert [e["refused"] for e in limited] == [1, 101]  # a flood does not flood the log
        h.clock.advance(0.05)
        assert (await h.call(sink, link, "Heartbeat", {}))[0] == 3  # refilled: served again


async def test_answers_to_unknown_ids_spend_the_budget_and_log_rarely() -> None:
    """A flood of CALLRESULTs/CALLERRORs for unknown ids is held to the CALL budget and logs
    one line per 10 s per connection, with the count of the lines held back."""
    async with ChargePointHarness(budget=BudgetSpec(rate_per_s=20, burst=5)) as h:
        await h.register("CP-1")
        link, sink = await h.connect("CP-1")
        assert (await h.call(sink, link, "BootNotification", BOOT))[0] == 3
        h.clock.advance(1.0)  # the bucket is full again: 5 tokens
        actor = h.system.context("/node-1/charge-points/CP-1")
        processed = actor.processed
        with capture_logs() as logs:
            for i in range(300):
                await sink.on_frame(msgspec.json.encode([3, f"x-{i}", {}]))
                await sink.on_frame(msgspec.json.encode([4, f"y-{i}", "GenericError", "", {}]))
            await h.settle()
            refused = await h.call(sink, link, "Heartbeat", {})  # the answers spent it all
        assert actor.processed - processed == 5  # only the budget's worth reached the actor
        assert refused[2] == "GenericError"
        unmatched = [e for e in logs if e["event"] == "ocpp.command.unmatched_reply"]
        dropped = [e for e in logs if e["event"] == "ocpp_answer_rate_limited"]
        assert [e["suppressed"] for e in unmatched] == [0]
        assert [e["suppressed"] for e in dropped] == [0]
        h.clock.advance(10.0)
        with capture_logs() as logs:
            await sink.on_frame(msgspec.json.encode([3, "late", {}]))
            await h.settle()
        unmatched = [e for e in logs if e["event"] == "ocpp.command.unmatched_reply"]
        assert [(e["message_id"], e["suppressed"]) for e in unmatched] == [("late", 4)]
