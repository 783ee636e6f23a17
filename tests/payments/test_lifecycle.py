"""The payment lifecycle: the transition table, refunds, and provider events in any order."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sigec_actors.payments.errors import IllegalTransition
from sigec_actors.payments.lifecycle import (
    EVENT_TARGETS,
    TRANSITIONS,
    PaymentStatus,
    after_event,
    after_refund,
    event_for,
    from_provider,
    transition,
)

S = PaymentStatus
EVENTS = sorted(EVENT_TARGETS)


def replay(events: list[str]) -> PaymentStatus:
    status = S.REQUIRES_ACTION
    for event in events:
        status = after_event(status, event) or status
    return status


def test_every_state_has_a_row_and_final_states_are_final() -> None:
    assert set(TRANSITIONS) == set(S)
    assert TRANSITIONS[S.CANCELED] == TRANSITIONS[S.REFUNDED] == frozenset()


def test_illegal_transition_is_a_typed_error() -> None:
    with pytest.raises(IllegalTransition) as caught:
        transition("p1", S.FAILED, S.REFUNDED)
    assert (caught.value.current, caught.value.target) == ("failed", "refunded")


@pytest.mark.parametrize(("events", "final"), [
    (["payment_intent.payment_failed", "payment_intent.succeeded"], S.SUCCEEDED),
    (["payment_intent.succeeded", "payment_intent.payment_failed"], S.SUCCEEDED),
    (["payment_intent.succeeded", "payment_intent.processing"], S.SUCCEEDED),
    (["payment_intent.canceled", "payment_intent.succeeded"], S.CANCELED),
    (["payment_intent.processing", "payment_intent.requires_action"], S.REQUIRES_ACTION),
    (["payment_intent.succeeded", "payment_intent.canceled"], S.SUCCEEDED),
    (["charge.refunded"], S.REQUIRES_ACTION),
])
def test_out_of_order_events(events: list[str], final: PaymentStatus) -> None:
    assert replay(events) == final


@given(st.lists(st.sampled_from(EVENTS), max_size=8))
def test_a_success_is_never_undone_by_later_events(events: list[str]) -> None:
    status = S.REQUIRES_ACTION
    succeeded = False
    for event in events:
        new = after_event(status, event)
        if new is not None:
            assert new in TRANSITIONS[status]
            status = new
        succeeded = succeeded or status is S.SUCCEEDED
        assert not succeeded or status is S.SUCCEEDED


def test_refunds_partial_then_full() -> None:
    assert after_refund("p", S.SUCCEEDED, 1000, 0, 300) is S.PARTIALLY_REFUNDED
    assert after_refund("p", S.PARTIALLY_REFUNDED, 1000, 300, 300) is S.PARTIALLY_REFUNDED
    assert after_refund("p", S.PARTIALLY_REFUNDED, 1000, 600, 400) is S.REFUNDED
    with pytest.raises(IllegalTransition):
        after_refund("p", S.PROCESSING, 1000, 0, 1000)


def test_provider_statuses() -> None:
    assert from_provider("requires_payment_method") is S.REQUIRES_ACTION
    assert from_provider("requires_payment_method", has_error=True) is S.FAILED
    assert from_provider("succeeded") is S.SUCCEEDED
    assert from_provider("canceled") is S.CANCELED


def test_event_for_reports_each_state_the_provider_has() -> None:
    for event, status in EVENT_TARGETS.items():
        assert event_for(status) == event
        assert after_event(S.REQUIRES_ACTION, event_for(status)) in (None, status)
    assert event_for(S.REFUNDED) == "payment_intent.requires_action"  # ours: moves nothing
    assert after_event(S.REFUNDED, event_for(S.REFUNDED)) is None
