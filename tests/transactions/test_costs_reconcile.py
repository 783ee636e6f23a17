"""CostUpdated after Updated events (rate-limited, never awaited) and R3 reconciliation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest

from sigec_actors.charge_point.errors import StationOffline
from sigec_actors.domain.records import IdTokenType
from sigec_actors.domain.transactions import Transaction, TxStatus
from sigec_actors.ocpp.generated import v201
from sigec_actors.testing import FakeClock, InMemoryAuditLog
from sigec_actors.transactions.background import Background
from sigec_actors.transactions.billing import SettlementKind
from sigec_actors.transactions.costs import CostNotifier, CostSent, should_send
from sigec_actors.transactions.reconcile import AUDIT_ACTION, Outcome, Reconciler, due, outcome
from tests.transactions.builders import T0, E, World, event, world
from tests.transactions.fakes import Incomplete, Station

MINUTE = timedelta(minutes=1)


def _tx(cost: int, status: TxStatus = TxStatus.ACTIVE) -> Transaction:
    return Transaction(id=uuid.uuid4(), station_id="CP1", station_transaction_id="t",
                       created_at=T0, updated_at=T0, cost_centavos=cost, status=status)


def test_cost_updated_rules() -> None:
    assert should_send(None, _tx(100), T0, MINUTE)
    assert not should_send(None, _tx(0), T0, MINUTE)  # nothing to show yet
    assert not should_send(None, _tx(100, TxStatus.ENDED), T0, MINUTE)
    last = CostSent(T0, 100)
    assert not should_send(last, _tx(150), T0 + timedelta(seconds=59), MINUTE)
    assert not should_send(last, _tx(100), T0 + MINUTE * 5, MINUTE)  # unchanged
    assert should_send(last, _tx(150), T0 + MINUTE, MINUTE)


def test_reconcile_rules() -> None:
    assert outcome(still_incomplete=False, messages_in_queue=True) is Outcome.COMPLETE
    assert outcome(still_incomplete=True, messages_in_queue=True) is Outcome.WAIT
    assert outcome(still_incomplete=True, messages_in_queue=False) is Outcome.REVIEW
    assert due(None, T0, MINUTE) and due(T0, T0 + MINUTE, MINUTE)
    assert not due(T0, T0 + timedelta(seconds=30), MINUTE)


def _costs_world(station: Station, *, enabled: bool = True) -> tuple[World, CostNotifier]:
    clock = FakeClock(start=T0)
    notifier = CostNotifier(clock.now, enabled=enabled, min_interval_s=60)
    notifier.bind(station)
    return world(clock=clock, observers=lambda _: [notifier]), notifier


async def _start(w: World, tx: str = "tx-1") -> None:
    await w.tokens.add(uuid.uuid4(), "CARD-1", IdTokenType.ISO14443)
    await w.service.handle_event("CP1", event(E.STARTED, 0, T0, tx=tx, wh=0, token="CARD-1"), T0)


async def test_cost_updated_follows_updates_at_most_once_a_minute() -> None:
    station = Station()
    w, notifier = _costs_world(station)
    await _start(w)
    for seq, wh in ((1, 1_000), (2, 2_000)):
        await w.service.handle_event("CP1", event(E.UPDATED, seq, T0, wh=wh), T0)
    await notifier._bg.drain()
    (first,) = station.of(v201.CostUpdatedRequest)
    assert isinstance(first, v201.CostUpdatedRequest) and first.transaction_id == "tx-1"
    assert first.total_cost == pytest.approx(2.5)  # 1 kWh x 1.50 + 1.00 fee
    w.clock.advance(60)
    dup = event(E.UPDATED, 2, T0, wh=2_000)
    await w.service.handle_event("CP1", dup, T0)  # a retried event sends nothing
    await w.service.handle_event("CP1", event(E.UPDATED, 3, T0, wh=4_000), T0)
    await w.service.handle_event("CP1", event(E.ENDED, 4, T0, wh=5_000), T0)
    await notifier._bg.drain()
    assert [r.total_cost for r in station.of(v201.CostUpdatedRequest)  # type: ignore[attr-defined]
            ] == [pytest.approx(2.5), pytest.approx(7.0)]


async def test_cost_updated_is_never_awaited_by_the_event_handling() -> None:
    station = Station()
    station.gate.clear()  # the station's actor is busy: the command waits in its mailbox
    w, notifier = _costs_world(station)
    await _start(w)
    answer = await asyncio.wait_for(
        w.service.handle_event("CP1", event(E.UPDATED, 1, T0, wh=1_000), T0), 1)
    assert answer.total_cost is None  # 2.0.1: the running cost goes by CostUpdated only
    [sent] = station.of(v201.CostUpdatedRequest)
    assert sent.total_cost == pytest.approx(2.5)  # type: ignore[attr-defined]
    assert len(notifier._bg) == 1
    station.gate.set()
    await notifier._bg.drain()
    assert len(notifier._bg) == 0


async def test_cost_updated_is_off_by_default_and_survives_an_offline_station() -> None:
    station = Station()
    w, _ = _costs_world(station, enabled=False)
    await _start(w)
    await w.service.handle_event("CP1", event(E.UPDATED, 1, T0, wh=1_000), T0)
    assert station.sent == []
    offline = Station(fail=StationOffline("CP1", "CostUpdated"))
    w2, notifier = _costs_world(offline)
    await _start(w2)
    await w2.service.handle_event("CP1", event(E.UPDATED, 1, T0, wh=1_000), T0)
    await notifier._bg.drain()  # logged, not raised
    assert len(offline.sent) == 1


class Recon:
    """A world whose service has a Reconciler on fakes."""

    def __init__(self, station: Station) -> None:
        self.station = station
        self.audit = InMemoryAuditLog()
        self.clock = FakeClock(start=T0)
        self.bg = Background()
        holder: list[Incomplete] = []

        def hooks(store: object) -> list[Reconciler]:
            from sigec_actors.testing import InMemoryTransactionEvents
            assert isinstance(store, InMemoryTransactionEvents)
            holder.append(Incomplete(store))
            self.reconciler = Reconciler(store, holder[0], self.audit, self.clock.now,
                                         grace_s=60, retry_after_s=300, background=self.bg)
            self.reconciler.bind(station)
            return [self.reconciler]

        self.w = world(clock=self.clock, observers=hooks)
        self.incomplete = holder[0]

    async def gap_stream(self, tx: str = "tx-1", *, ended: bool = True) -> None:
        """Started, Updated 1, (2 lost), Updated 3 [, Ended 4]."""
        await _start(self.w, tx)
        for seq in (1, 3):
            await self.w.service.handle_event("CP1", event(E.UPDATED, seq, T0, tx=tx,
                                                           wh=seq * 1_000), T0)
        if ended:
            await self.w.service.handle_event("CP1", event(E.ENDED, 4, T0, tx=tx, wh=4_000), T0)


async def test_an_ended_transaction_with_gaps_asks_the_station_and_opens_a_review() -> None:
    r = Recon(Station(in_queue=False))
    await r.gap_stream()
    assert r.w.service.last_settlement is not None
    assert r.w.service.last_settlement.kind is SettlementKind.HELD_INCOMPLETE  # never billed
    await r.bg.drain()
    (ask,) = r.station.of(v201.GetTransactionStatusRequest)
    assert ask == v201.GetTransactionStatusRequest(transaction_id="tx-1")
    (entry,) = [a.entry for a in r.audit.records if a.entry.action == AUDIT_ACTION]
    assert entry.details["outcome"] == "review" and entry.details["missingSeqNos"] == [2]
    tx = await r.w.store.find("CP1", "tx-1")
    assert tx is not None and list(r.incomplete.reviews) == [str(tx.id)]
    # a retried Ended does not ask again; the periodic job skips what awaits an operator
    await r.w.service.handle_event("CP1", event(E.ENDED, 4, T0, wh=4_000), T0)
    r.clock.advance(3_600)
    assert await r.reconciler.run_once() == []
    assert len(r.station.of(v201.GetTransactionStatusRequest)) == 1


async def test_queued_messages_are_waited_for_and_asked_again_later() -> None:
    r = Recon(Station(in_queue=True))
    await r.gap_stream(ended=False)  # still running: only the periodic job asks
    assert await r.reconciler.run_once() == []  # within the grace period
    r.clock.advance(61)
    (checked,) = await r.reconciler.run_once()
    assert checked.outcome is Outcome.WAIT and checked.missing.ranges == ((2, 2),)
    r.clock.advance(61)
    assert await r.reconciler.run_once() == []  # asked recently
    r.clock.advance(300)
    assert [c.outcome for c in await r.reconciler.run_once()] == [Outcome.WAIT]
    assert r.incomplete.reviews == {}
    # the station delivers seqNo 2: complete again, nothing more to ask
    await r.w.service.handle_event("CP1", event(E.UPDATED, 2, T0, wh=2_000), T0)
    r.clock.advance(600)
    assert await r.reconciler.run_once() == []


async def test_an_unreachable_station_is_asked_again_after_the_retry_period() -> None:
    station = Station(fail=StationOffline("CP1", "GetTransactionStatus"))
    r = Recon(station)
    await r.gap_stream(ended=False)
    r.clock.advance(61)
    assert await r.reconciler.run_once() == []
    assert r.audit.records == [] and len(station.sent) == 1
    station.fail = None
    r.clock.advance(300)
    assert [c.outcome for c in await r.reconciler.run_once()] == [Outcome.REVIEW]


async def test_background_tasks_log_bugs_and_are_cancelled_on_close() -> None:
    bg = Background()

    async def boom() -> None:
        raise RuntimeError("a bug")

    bg.spawn(boom(), "boom")
    await bg.drain()  # logged by the done callback, not lost silently
    forever = bg.spawn(asyncio.Event().wait(), "forever")
    await bg.aclose()
    assert forever.cancelled() and len(bg) == 0
