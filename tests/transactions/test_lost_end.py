"""Issue #14 item 11: a transaction whose Ended was lost is found when its station reboots or
reports the EVSE Available, asked about (GetTransactionStatus, once per retry period), closed as
incomplete with an operator alert, and its token is free again."""

from __future__ import annotations

import dataclasses
import uuid

import msgspec
import pytest

from sigec_actors.alerts.model import Severity
from sigec_actors.domain.records import IdTokenType
from sigec_actors.domain.transactions import TxStatus
from sigec_actors.ocpp.generated import v201
from sigec_actors.testing import FakeClock, InMemoryAlerts, InMemoryAuditLog
from sigec_actors.testing.ocpp import ChargePointHarness
from sigec_actors.transactions.background import Background
from sigec_actors.transactions.billing import SettlementKind, hold_reason
from sigec_actors.transactions.reconcile import (
    AUDIT_ACTION,
    END_LOST_KIND,
    Outcome,
    Reconciler,
    end_outcome,
    review_key,
)
from tests.charge_point.conftest import BOOT, status
from tests.transactions.builders import T0, E, World, event, world
from tests.transactions.fakes import Incomplete, Station

A = v201.AuthorizationStatusEnum


def test_only_a_plain_no_with_nothing_queued_closes() -> None:
    assert end_outcome(ongoing=False, messages_in_queue=False) is Outcome.CLOSED
    assert end_outcome(ongoing=False, messages_in_queue=True) is Outcome.WAIT  # Ended queued
    assert end_outcome(ongoing=True, messages_in_queue=False) is Outcome.ONGOING
    assert end_outcome(ongoing=None, messages_in_queue=False) is Outcome.ONGOING  # no answer


class Orphans:
    """A TransactionService on fakes whose Reconciler asks the fake `station`."""

    def __init__(self, station: Station) -> None:
        self.station = station
        self.clock = FakeClock(start=T0)
        self.w: World = world(clock=self.clock)
        self.audit = InMemoryAuditLog()
        self.alerts = InMemoryAlerts(now=self.clock.now)
        self.bg = Background()
        self.incomplete = Incomplete(self.w.store)
        self.reconciler = Reconciler(self.w.store, self.incomplete, self.audit, self.clock.now,
                                     retry_after_s=300, background=self.bg, alerts=self.alerts)
        self.reconciler.bind(station)

    async def started(self, tx: str = "tx-1", evse: int = 1) -> None:
        """A session of CARD-1 that started on `evse` (its Ended never arrives)."""
        if await self.w.tokens.find("CARD-1", IdTokenType.ISO14443) is None:
            await self.w.tokens.add(uuid.uuid4(), "CARD-1", IdTokenType.ISO14443)
        for req in (event(E.STARTED, 0, T0, tx=tx, wh=0, token="CARD-1", evse=evse),
                    event(E.UPDATED, 1, T0, tx=tx, wh=1_000, evse=evse)):
            await self.w.service.handle_event("CP1", req, T0)

    async def idle(self, evse: int | None) -> None:
        self.reconciler.station_idle("CP1", evse)
        await self.bg.drain()

    async def card(self) -> A:
        return (await self.w.authorizer.check("CARD-1", "ISO14443", self.clock.now())).status

    def asked(self) -> list[v201.GetTransactionStatusRequest]:
        return self.station.of(v201.GetTransactionStatusRequest)  # type: ignore[return-value]


async def test_a_boot_closes_a_transaction_the_station_no_longer_has() -> None:
    o = Orphans(Station(in_queue=False, ongoing=False))
    await o.started()
    assert await o.card() is A.CONCURRENT_TX  # the lost Ended blocks the card
    await o.idle(None)  # BootNotification: every EVSE
    assert o.asked() == [v201.GetTransactionStatusRequest(transaction_id="tx-1")]
    tx = await o.w.store.find("CP1", "tx-1")
    assert tx is not None and tx.status is TxStatus.ENDED and tx.seq_gap
    assert tx.ended_at is not None and tx.ended_at >= T0
    assert hold_reason(tx) is SettlementKind.HELD_INCOMPLETE  # never billed automatically
    (alert,) = o.alerts.alerts
    assert alert.kind == END_LOST_KIND and alert.severity is Severity.WARNING
    assert alert.dedupe_key == review_key(tx) and alert.charge_point_id == "CP1"
    assert alert.details["transactionId"] == "tx-1" and alert.details["outcome"] == "closed"
    (entry,) = [a.entry for a in o.audit.records if a.entry.action == AUDIT_ACTION]
    assert entry.target_id == str(tx.id) and entry.details["ongoingIndicator"] is False
    assert await o.card() is A.ACCEPTED  # the card is usable again


async def test_a_running_transaction_is_left_alone_and_asked_once_per_period() -> None:
    o = Orphans(Station(in_queue=False, ongoing=True))
    await o.started()
    for _ in range(3):  # Available reported again and again: one question
        await o.idle(1)
    assert len(o.asked()) == 1
    tx = await o.w.store.find("CP1", "tx-1")
    assert tx is not None and tx.status is TxStatus.ACTIVE and o.alerts.alerts == []
    await o.idle(2)  # another EVSE: nothing of ours runs there
    assert len(o.asked()) == 1
    o.clock.advance(300)
    await o.idle(1)
    assert len(o.asked()) == 2
    assert await o.card() is A.CONCURRENT_TX


async def test_a_queued_ended_is_waited_for_then_asked_again() -> None:
    station = Station(in_queue=True, ongoing=False)
    o = Orphans(station)
    await o.started()
    await o.idle(None)
    tx = await o.w.store.find("CP1", "tx-1")
    assert tx is not None and tx.status is TxStatus.ACTIVE and o.alerts.alerts == []
    assert await o.reconciler.run_once() == []  # asked moments ago
    o.clock.advance(300)
    station.answers[v201.GetTransactionStatusRequest] = lambda _: (
        v201.GetTransactionStatusResponse(messages_in_queue=False, ongoing_indicator=False))
    (checked,) = await o.reconciler.run_once()  # the periodic job asks the suspect again
    assert checked.outcome is Outcome.CLOSED and len(o.asked()) == 2
    assert len(o.alerts.alerts) == 1


async def test_an_ended_that_arrives_meanwhile_is_not_overwritten() -> None:
    o = Orphans(Station(in_queue=True))
    await o.started()
    await o.idle(None)  # WAIT: remembered as a suspect
    await o.w.service.handle_event("CP1", event(E.ENDED, 2, T0, wh=2_000), T0)
    o.clock.advance(300)
    assert await o.reconciler.run_once() == []  # no longer Active: not asked again
    tx = await o.w.store.find("CP1", "tx-1")
    assert tx is not None and tx.status is TxStatus.ENDED and not tx.seq_gap
    assert len(o.asked()) == 1 and o.alerts.alerts == []
    stale = await o.incomplete.close_lost(
        msgspec.structs.replace(tx, status=TxStatus.ACTIVE), o.clock.now())
    assert stale is None  # the close is a compare-and-set on the row


async def test_offline_station_is_asked_again_later() -> None:
    from sigec_actors.charge_point.errors import StationOffline

    station = Station(fail=StationOffline("CP1", "GetTransactionStatus"))
    o = Orphans(station)
    await o.started()
    await o.idle(None)
    station.fail = None
    await o.idle(None)  # within the retry period: not asked
    assert len(o.asked()) == 1
    o.clock.advance(300)
    await o.idle(1)
    tx = await o.w.store.find("CP1", "tx-1")
    assert len(o.asked()) == 2 and tx is not None and tx.status is TxStatus.ENDED


class Idle:
    """An IdleEvses port that records what the ChargePoint told it."""

    def __init__(self) -> None:
        self.told: list[tuple[str, int | None]] = []

    def station_idle(self, station_id: str, evse_id: int | None) -> None:
        self.told.append((station_id, evse_id))


@pytest.mark.parametrize("reported", ["Available", "Occupied"])
async def test_the_charge_point_tells_of_boots_and_available_evses(reported: str) -> None:
    idle = Idle()
    h = ChargePointHarness()
    h.deps = dataclasses.replace(h.deps, idle=idle)
    async with h:
        await h.register("CP-1")
        link, sink = await h.connect("CP-1")
        assert (await h.call(sink, link, "BootNotification", BOOT))[2]["status"] == "Accepted"
        assert idle.told == [("CP-1", None)]
        for _ in range(2):  # reported twice: told twice (the Reconciler bounds the questions)
            assert (await h.call(sink, link, "StatusNotification", status(2, 1, reported)))[0] == 3
    assert idle.told[1:] == ([("CP-1", 2)] * 2 if reported == "Available" else [])
