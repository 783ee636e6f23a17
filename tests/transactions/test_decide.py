"""The pure fold and decide: energy from registers, gaps, offline times, responses, events."""

from __future__ import annotations

from datetime import timedelta

import msgspec

from sigec_actors.domain import events as subjects
from sigec_actors.domain.transactions import TxStatus
from sigec_actors.ocpp.generated.v201 import AuthorizationStatusEnum, IdTokenInfo
from sigec_actors.transactions.decide import DecideContext, decide
from sigec_actors.transactions.facts import facts_of, to_wh
from sigec_actors.transactions.fold import fold
from sigec_actors.transactions.tariffs import Tariff
from tests.transactions.builders import T0, E, event, session, sv

TARIFF = Tariff(price_per_kwh_centavos=200, per_minute_centavos=10,
                idle_per_minute_centavos=50, session_fee_centavos=300)
CTX = DecideContext(station_id="CP1", station_transaction_id="tx-1", tariff=TARIFF)


def folded(reqs: list) -> object:
    return fold([facts_of(r) for r in reqs])


def test_clean_session_energy_times_and_status() -> None:
    f = fold([facts_of(r) for r in session(minutes=40, kwh=12, idle_min=15)])
    assert f.status is TxStatus.ENDED
    assert (f.meter_start_wh, f.meter_stop_wh, f.energy_wh) == (1_000, 13_000, 12_000)
    assert f.started_at == T0 and f.ended_at == T0 + timedelta(minutes=55)
    assert f.usage.charging_s == 40 * 60 and f.usage.idle_s == 15 * 60
    assert not f.incomplete and f.id_token == "CARD-1"


def test_energy_comes_from_registers_never_from_power() -> None:
    power = sv(22_000.0, "Power.Active.Import", "W")
    reqs = [event(E.STARTED, 0, T0, wh=500, extra=(power,)),
            event(E.UPDATED, 1, T0 + timedelta(hours=1), extra=(power,)),
            event(E.ENDED, 2, T0 + timedelta(hours=2), wh=2_500, extra=(power,))]
    assert fold([facts_of(r) for r in reqs]).energy_wh == 2_000
    only_power = [event(E.STARTED, 0, T0, extra=(power,)),
                  event(E.ENDED, 1, T0 + timedelta(hours=1), extra=(power,))]
    assert fold([facts_of(r) for r in only_power]).energy_wh == 0


def test_kwh_units_multipliers_and_phases() -> None:
    assert to_wh(msgspec.convert("1.2345", type=__import__("decimal").Decimal), "kWh", None) == 1234
    assert to_wh(__import__("decimal").Decimal("7"), "Wh", 3) == 7000
    assert to_wh(__import__("decimal").Decimal("7"), "W", None) is None
    reqs = [event(E.STARTED, 0, T0, extra=(sv(10.5, unit="kWh"), sv(99.0, phase="L1"))),
            event(E.ENDED, 1, T0 + timedelta(hours=1), extra=(sv(12.0, unit="kWh"),))]
    assert fold([facts_of(r) for r in reqs]).energy_wh == 1_500


def test_v2g_export_register_is_tracked_separately() -> None:
    reqs = [event(E.STARTED, 0, T0, wh=100, export_wh=5_000),
            event(E.ENDED, 1, T0 + timedelta(hours=1), wh=150, export_wh=8_250)]
    f = fold([facts_of(r) for r in reqs])
    assert (f.energy_wh, f.energy_export_wh) == (50, 3_250)


def test_offline_events_use_their_own_timestamps() -> None:
    long_ago = T0 - timedelta(days=2)
    reqs = [event(E.STARTED, 0, long_ago, wh=0, offline=True),
            event(E.ENDED, 1, long_ago + timedelta(minutes=30), wh=7_000, offline=True)]
    f = fold([facts_of(r) for r in reqs])
    assert f.started_at == long_ago and f.ended_at == long_ago + timedelta(minutes=30)
    assert f.usage.charging_s == 1_800


def test_seq_gap_marks_incomplete_and_the_late_event_repairs_it() -> None:
    reqs = session(updates=3)
    gap = [r for r in reqs if r.seq_no != 2]
    f = fold([facts_of(r) for r in gap])
    assert f.incomplete and f.missing.ranges == ((2, 2),) and f.missing.count == 1
    assert not fold([facts_of(r) for r in reqs]).incomplete


def test_unknown_transaction_created_by_updated_or_ended_is_incomplete() -> None:
    req = event(E.ENDED, 5, T0, tx="ghost", wh=4_000)
    d = decide(None, [], facts_of(req), CTX)
    assert d.state.status is TxStatus.ENDED and d.state.seq_gap
    assert [e.subject for e in d.events] == [subjects.TRANSACTION_STARTED,
                                            subjects.TRANSACTION_COMPLETED]


def test_second_ended_is_harmless() -> None:
    reqs = session()
    first = fold([facts_of(r) for r in reqs])
    late = event(E.ENDED, len(reqs), T0 + timedelta(hours=5), wh=99_999, reason="Other")
    again = fold([facts_of(r) for r in [*reqs, late]])
    assert again.ended_at == first.ended_at and again.stopped_reason == first.stopped_reason
    assert again.status is TxStatus.ENDED


def test_response_carries_total_cost_once_ended_only() -> None:
    reqs = session(minutes=60, kwh=10, updates=1)
    info = IdTokenInfo(status=AuthorizationStatusEnum.ACCEPTED)
    ctx = msgspec.structs.replace(CTX, id_token_info=info)
    start = decide(None, [], facts_of(reqs[0]), ctx)
    assert start.response == {"idTokenInfo": {"status": "Accepted"}}
    update = decide(None, [facts_of(reqs[0])], facts_of(reqs[1]), ctx)
    assert update.state.cost_centavos > 0 and "totalCost" not in update.response  # I05
    hist = [facts_of(reqs[0]), facts_of(reqs[1])]
    end = decide(None, hist, facts_of(reqs[2]), ctx)
    # 10 kWh x 200 + 60 min x 10 + fee 300 = 2,900 centavos = R$ 29.00
    assert end.state.cost_centavos == 2_900
    assert end.response == {"totalCost": 29.0}
    assert end.state.currency == "BRL"


def test_decide_stores_the_events_meter_values_as_sent() -> None:
    req = event(E.UPDATED, 1, T0, wh=1234.5)
    d = decide(None, [], facts_of(req), CTX)
    (mv,) = d.meter_values
    assert str(mv.value) == "1234.5" and mv.measurand == "Energy.Active.Import.Register"


def test_charging_time_ignores_suspended_gaps_and_counts_idle_after() -> None:
    reqs = [event(E.STARTED, 0, T0, wh=0, state="EVConnected"),
            event(E.UPDATED, 1, T0 + timedelta(minutes=5), state="Charging"),
            event(E.UPDATED, 2, T0 + timedelta(minutes=15), state="SuspendedEV"),
            event(E.UPDATED, 3, T0 + timedelta(minutes=20), state="Charging"),
            event(E.UPDATED, 4, T0 + timedelta(minutes=30), wh=5_000, state="SuspendedEV"),
            event(E.ENDED, 5, T0 + timedelta(minutes=50), wh=5_000)]
    usage = fold([facts_of(r) for r in reqs]).usage
    assert (usage.charging_s, usage.idle_s) == (20 * 60, 20 * 60)
