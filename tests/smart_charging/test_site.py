"""The site's pure core: what it sends on starts, ends, presence, discharges and limits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sigec_actors.smart_charging.allocation import SitePolicy
from sigec_actors.smart_charging.site import (
    EvMaximum,
    LimitsChanged,
    Metered,
    Presence,
    ProfileRefused,
    SendDefault,
    SendLimit,
    SessionEnded,
    SessionSeen,
    SiteEvent,
    SiteState,
    decide,
    defaults_step,
)

POLICY = SitePolicy(limit_w=30_000, floor_w=4_000)


def run(state: SiteState, *events: SiteEvent) -> tuple[SiteState, list[SendLimit]]:
    sends: list[SendLimit] = []
    for event in events:
        state, out = decide(state, event)
        sends += out
    return state, sends


def test_a_start_shares_the_limit_and_sends_decreases_first() -> None:
    state, sends = run(SiteState(policy=POLICY), SessionSeen("A", 1, "t1"))
    assert sends == [SendLimit("A", 1, "t1", 22_000, 22_000)]
    state, sends = decide(state, SessionSeen("B", 1, "t2"))
    # the new car may draw its maximum until told: both are decreases from 22 kW
    assert sends == [SendLimit("A", 1, "t1", 15_000, 22_000),
                     SendLimit("B", 1, "t2", 15_000, 22_000)]
    state, sends = decide(state, EvMaximum("B", 1, 7_000))
    assert sends == [SendLimit("B", 1, "t2", 7_000, 15_000),  # the decrease first
                     SendLimit("A", 1, "t1", 22_000, 15_000)]
    assert state.sent == {("A", 1): 22_000, ("B", 1): 7_000}


def test_nothing_changed_nothing_sent() -> None:
    state, _ = run(SiteState(policy=POLICY), SessionSeen("A", 1, "t1"),
                   SessionSeen("B", 1, "t2"))
    again, sends = decide(state, SessionSeen("A", 1, "t1"))  # a retried Started
    assert sends == [] and again is state
    metered, sends = decide(state, Metered("A", "t1", 14_900, None))
    assert sends == [] and metered.evses[("A", 1)].import_w == 14_900


def test_an_end_gives_the_power_back() -> None:
    state, _ = run(SiteState(policy=POLICY), SessionSeen("A", 1, "t1"),
                   SessionSeen("B", 1, "t2"))
    state, sends = decide(state, SessionEnded("B", "t2"))
    assert sends == [SendLimit("A", 1, "t1", 22_000, 15_000)]
    assert state.sent == {("A", 1): 22_000}


def test_an_offline_station_keeps_its_allocation_and_is_sent_again_when_back() -> None:
    state, _ = run(SiteState(policy=POLICY), SessionSeen("A", 1, "t1"),
                   SessionSeen("B", 1, "t2"))
    state, sends = decide(state, Presence("B", False))
    assert sends == []  # B is assumed to draw its 15 kW: A cannot take it
    state, sends = decide(state, SessionSeen("C", 1, "t3"))
    assert {(s.station_id, s.watts) for s in sends} == {("A", 7_500), ("C", 7_500)}
    assert all(s.station_id != "B" for s in sends)
    state, sends = decide(state, Presence("B", True))
    assert {(s.station_id, s.watts) for s in sends} == {("B", 10_000), ("A", 10_000),
                                                        ("C", 10_000)}


def test_a_discharge_is_negative_load() -> None:
    state, _ = run(SiteState(policy=POLICY), SessionSeen("A", 1, "t1"),
                   SessionSeen("V", 1, "tv"))
    state, sends = decide(state, Metered("V", "tv", None, 8_000))
    assert sends == [SendLimit("A", 1, "t1", 22_000, 15_000)]  # 30 + 8 kW, A at its max
    assert ("V", 1) not in state.sent or state.sent[("V", 1)] == 15_000


def test_limits_ev_maximum_and_a_refusal() -> None:
    state, _ = run(SiteState(policy=POLICY), SessionSeen("A", 1, "t1"),
                   SessionSeen("B", 1, "t2"))
    state, sends = decide(state, EvMaximum("A", 1, 7_000))
    assert {(s.station_id, s.watts) for s in sends} == {("A", 7_000), ("B", 22_000)}
    state, sends = decide(state, LimitsChanged(SitePolicy(limit_w=12_000, floor_w=4_000),
                                               22_000, external_w=2_000))
    assert {(s.station_id, s.watts) for s in sends} == {("A", 5_000), ("B", 5_000)}
    state, sends = decide(state, ProfileRefused(("A", 1), 5_000))
    assert sends == [SendLimit("A", 1, "t1", 5_000, 22_000)]  # tried again


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["start", "end", "off", "on", "v2g"]),
                          st.integers(0, 9)), max_size=40))
def test_what_was_sent_never_exceeds_the_limit(steps: list[tuple[str, int]]) -> None:
    state = SiteState(policy=SitePolicy(limit_w=50_000, floor_w=3_000))
    running: dict[int, str] = {}
    for n, (op, i) in enumerate(steps):
        sid = f"CP-{i}"
        if op == "start" and i not in running:
            running[i] = f"t{n}"
            event: SiteEvent = SessionSeen(sid, 1, running[i])
        elif op == "end" and i in running:
            event = SessionEnded(sid, running.pop(i))
        elif op == "v2g" and i in running:
            event = Metered(sid, running[i], None, 5_000)
        else:
            event = Presence(sid, op != "off")
        state, _ = decide(state, event)
        fixed = sum(-e.export_w for e in state.evses.values() if e.export_w)
        charging = sum(w for k, w in state.sent.items() if not state.evses[k].export_w)
        assert charging + fixed <= 50_000


def test_a_station_gets_the_floor_as_its_default_once_and_again_when_it_moves() -> None:
    state = SiteState(policy=POLICY)
    state, sends = defaults_step(state, Presence("A", True))
    assert sends == [SendDefault("A", 4_000)]
    state, sends = defaults_step(state, SessionSeen("A", 1, "t1"))
    assert sends == []  # it holds it already
    state, sends = defaults_step(state, SessionSeen("B", 1, "t2"))
    assert sends == [SendDefault("B", 4_000)]  # online before the site knew of it
    state, sends = defaults_step(state, Presence("A", True))
    assert sends == [SendDefault("A", 4_000)]  # a reconnect: sent again
    state, sends = defaults_step(state, LimitsChanged(SitePolicy(limit_w=30_000, floor_w=6_000),
                                                      22_000))
    assert sorted(sends, key=lambda s: s.station_id) == [SendDefault("A", 6_000),
                                                         SendDefault("B", 6_000)]
    assert defaults_step(state, Metered("A", "t1", 5_000, None)) == (state, [])


def test_a_boot_of_an_online_station_sends_its_allocation_again() -> None:
    state, _ = run(SiteState(policy=POLICY), SessionSeen("A", 1, "t1"))
    state, sends = decide(state, Presence("A", True))  # booted: it may have lost it
    assert sends == [SendLimit("A", 1, "t1", 22_000, 22_000)]
    _again, sends = decide(state, Presence("A", True))
    assert sends == [SendLimit("A", 1, "t1", 22_000, 22_000)]
    quiet, sends = decide(SiteState(policy=POLICY), Presence("B", True))
    assert sends == [] and quiet == SiteState(policy=POLICY)
