"""SeqNo gaps as ranges (bounded whatever the seqNo) and the plausibility limits of an event."""

from __future__ import annotations

import tracemalloc
from datetime import timedelta

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from sigec_actors.transactions.decide import DecideContext, decide
from sigec_actors.transactions.facts import facts_of
from sigec_actors.transactions.fold import fold
from sigec_actors.transactions.gaps import MAX_LISTED, MAX_RANGES, seq_gaps
from sigec_actors.transactions.plausibility import Limits, refusal
from sigec_actors.transactions.tariffs import Tariff
from tests.transactions.builders import T0, E, event

BOMB = 20_000_000
CTX = DecideContext(station_id="CP1", station_transaction_id="tx-1", tariff=Tariff())
LIMITS = Limits(max_seq_jump=10_000, max_register_wh=10**12, max_power_w=1_000_000)


@settings(max_examples=50)
@given(st.sets(st.integers(0, 300), min_size=1), st.booleans())
def test_ranges_list_exactly_the_missing_seq_nos(seqs: set[int], started: bool) -> None:
    base = min(seqs) if started else 0
    naive = [n for n in range(base, max(seqs) + 1) if n not in seqs]
    gaps = seq_gaps(seqs, base)
    assert [n for low, high in gaps.ranges for n in range(low, high + 1)] == naive
    assert gaps.count == len(naive) and bool(gaps) == bool(naive)
    assert gaps.first(7) == tuple(naive[:7])
    assert len(gaps.ranges) <= len(seqs)


def test_a_seq_no_of_twenty_million_costs_one_range() -> None:
    reqs = [event(E.STARTED, 0, T0, wh=0), event(E.UPDATED, BOMB, T0 + timedelta(minutes=1))]
    facts = [facts_of(r) for r in reqs]
    tracemalloc.start()
    try:
        folded = fold(facts)
        decision = decide(None, facts[:1], facts[1], CTX)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert folded.missing.ranges == ((1, BOMB - 1),) and folded.missing.count == BOMB - 1
    assert peak < 512 * 1024  # the list of 20 million ints it replaces took gigabytes
    payload = decision.events[0].payload
    assert payload["missingCount"] == BOMB - 1 and payload["missingRanges"] == [[1, BOMB - 1]]
    assert payload["missingSeqNos"] == list(range(1, MAX_LISTED + 1))


def test_no_started_counts_the_gap_from_zero_in_one_range() -> None:
    folded = fold([facts_of(event(E.UPDATED, 2**31 - 1, T0, wh=5))])
    assert folded.incomplete and folded.missing.ranges == ((0, 2**31 - 2),)


def test_the_event_payload_is_bounded_however_many_gaps() -> None:
    facts = [facts_of(event(E.STARTED, 0, T0))] + [
        facts_of(event(E.UPDATED, n, T0 + timedelta(seconds=n))) for n in range(2, 400, 2)]
    payload = decide(None, facts[:-1], facts[-1], CTX).events[0].payload
    assert payload["missingCount"] == 199 and len(payload["missingRanges"]) == MAX_RANGES
    assert len(payload["missingSeqNos"]) == MAX_LISTED
    assert len(msgspec.json.encode(payload)) < 4096


def _refused(ev: object, history: list[object], limits: Limits = LIMITS) -> str | None:
    found = refusal(facts_of(ev), [facts_of(h) for h in history], limits)  # type: ignore[arg-type]
    return None if found is None else found.path


def test_a_seq_no_far_beyond_the_highest_seen_is_refused() -> None:
    started = event(E.STARTED, 3, T0, wh=0)
    assert _refused(event(E.UPDATED, 3 + 10_000, T0), [started]) is None
    assert _refused(event(E.UPDATED, 3 + 10_001, T0), [started]) == "$.seqNo"
    assert _refused(event(E.UPDATED, BOMB, T0), [started]) == "$.seqNo"
    assert _refused(event(E.UPDATED, 9_999, T0), []) is None  # no Started: beyond -1
    assert _refused(event(E.UPDATED, 10_000, T0), []) == "$.seqNo"
    assert _refused(event(E.ENDED, 2**31 - 1, T0), []) == "$.seqNo"
    assert _refused(event(E.STARTED, BOMB, T0), []) is None  # a first Started sets the base


def test_an_energy_register_above_the_maximum_is_refused() -> None:
    assert _refused(event(E.STARTED, 0, T0, wh=10**12), []) is None
    assert _refused(event(E.STARTED, 0, T0, wh=9e18), []) == "$.meterValue"
    assert _refused(event(E.STARTED, 0, T0, export_wh=10**12 + 1), []) == "$.meterValue"


def test_energy_rising_faster_than_the_maximum_power_is_refused() -> None:
    started = event(E.STARTED, 0, T0, wh=1_000)
    hour = T0 + timedelta(hours=1)
    ok = 1_000 + 1_000_000 + 1_000_000 * 60 // 3600  # 1 MW for an hour plus 60 s of slack
    assert _refused(event(E.UPDATED, 1, hour, wh=ok), [started]) is None
    assert _refused(event(E.UPDATED, 1, hour, wh=ok + 1), [started]) == "$.meterValue"
    assert _refused(event(E.UPDATED, 1, hour, wh=0), [started]) is None  # a reset is no jump
    # a late event is checked against the reading after it too
    ended = event(E.ENDED, 2, hour, wh=5_000)
    assert _refused(event(E.UPDATED, 1, T0 + timedelta(minutes=30), wh=3_000),
                    [started, ended]) is None
    assert _refused(event(E.UPDATED, 1, T0 + timedelta(minutes=30), wh=-10**9 + 5_000),
                    [started, ended]) == "$.meterValue"


@settings(max_examples=50)
@given(st.lists(st.tuples(st.integers(1, 3_600), st.integers(0, 1_000_000)), max_size=8))
def test_a_plausible_session_is_never_refused(steps: list[tuple[int, int]]) -> None:
    """Readings that never rise faster than the maximum power pass, in any arrival order."""
    at, wh = T0, 500
    evs = [event(E.STARTED, 0, at, wh=wh)]
    for n, (seconds, watts) in enumerate(steps, 1):
        at += timedelta(seconds=seconds)
        wh += watts * seconds // 3600
        evs.append(event(E.UPDATED, n, at, wh=wh))
    for i, ev in enumerate(reversed(evs)):
        assert _refused(ev, [e for e in evs if e is not ev][: len(evs) - 1 - i]) is None
        assert _refused(ev, [e for e in evs if e is not ev]) is None
