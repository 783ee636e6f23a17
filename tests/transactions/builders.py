"""Builders of TransactionEventRequests and a wired TransactionService for the tests."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from sigec_actors.ocpp.generated.v201 import (
    EVSE,
    IdToken,
    IdTokenEnum,
    MeterValue,
    SampledValue,
    Transaction,
    TransactionEventEnum,
    TransactionEventRequest,
    TriggerReasonEnum,
    UnitOfMeasure,
)
from sigec_actors.testing import (
    FakeClock,
    InMemoryIdTokens,
    InMemoryLedger,
    InMemoryReservations,
    InMemoryTariffs,
    InMemoryTransactionEvents,
    InMemoryTransactionQueries,
)
from sigec_actors.transactions.authorize import Authorizer
from sigec_actors.transactions.billing import BillingService
from sigec_actors.transactions.ports import AfterCommit
from sigec_actors.transactions.service import TransactionService
from sigec_actors.transactions.tariffs import Tariff

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
E = TransactionEventEnum


def sv(value: float, measurand: str | None = None, unit: str | None = None,
       **kw: Any) -> SampledValue:
    return SampledValue(value=value, measurand=measurand,
                        unit_of_measure=UnitOfMeasure(unit=unit) if unit else None, **kw)


def event(kind: TransactionEventEnum, seq: int, at: datetime, *, tx: str = "tx-1",
          wh: float | None = None, export_wh: float | None = None, state: str | None = None,
          token: str | None = None, evse: int | None = 1, offline: bool = False,
          extra: tuple[SampledValue, ...] = (), reason: str | None = None,
          reservation: int | None = None) -> TransactionEventRequest:
    samples = [*extra]
    if wh is not None:
        samples.append(sv(wh))
    if export_wh is not None:
        samples.append(sv(export_wh, "Energy.Active.Export.Register"))
    raw = TransactionEventRequest(
        event_type=kind, timestamp=at, seq_no=seq, offline=offline or None,
        trigger_reason=TriggerReasonEnum.METER_VALUE_PERIODIC if kind is E.UPDATED
        else TriggerReasonEnum.AUTHORIZED,
        transaction_info=Transaction(transaction_id=tx, charging_state=state,
                                     stopped_reason=reason),
        meter_value=(MeterValue(timestamp=at, sampled_value=tuple(samples)),) if samples else None,
        evse=EVSE(id=evse, connector_id=1) if evse is not None else None,
        id_token=IdToken(id_token=token, type=IdTokenEnum.ISO14443) if token else None,
        reservation_id=reservation)
    # Round-trip through the wire form: validates and turns strings into the typed enums.
    return msgspec.convert(msgspec.to_builtins(raw), TransactionEventRequest)


def session(tx: str = "tx-1", *, token: str | None = "CARD-1", minutes: int = 30,
            kwh: int = 10, start_wh: int = 1_000, updates: int = 3,
            idle_min: int = 0) -> list[TransactionEventRequest]:
    """A clean Started / Updated x n / Ended stream charging `kwh` in `minutes`."""
    step = timedelta(minutes=minutes / (updates + 1))
    evs = [event(E.STARTED, 0, T0, tx=tx, wh=start_wh, state="Charging", token=token)]
    for i in range(1, updates + 1):
        evs.append(event(E.UPDATED, i, T0 + step * i, tx=tx,
                         wh=start_wh + kwh * 1000 * i // (updates + 1)))
    end = T0 + timedelta(minutes=minutes)
    seq = updates + 1
    if idle_min:
        evs.append(event(E.UPDATED, seq, end, tx=tx, wh=start_wh + kwh * 1000,
                         state="SuspendedEV"))
        seq += 1
        end += timedelta(minutes=idle_min)
    evs.append(event(E.ENDED, seq, end, tx=tx, wh=start_wh + kwh * 1000, state="EVConnected",
                     reason="EVDisconnected"))
    return evs


@dataclass
class World:
    """A TransactionService on in-memory fakes, with handles on every fake."""

    clock: FakeClock
    store: InMemoryTransactionEvents
    ledger: InMemoryLedger
    tokens: InMemoryIdTokens
    tariffs: InMemoryTariffs
    reservations: InMemoryReservations
    queries: InMemoryTransactionQueries
    authorizer: Authorizer
    billing: BillingService
    service: TransactionService


Observers = Callable[[InMemoryTransactionEvents], Iterable[AfterCommit]]


def world(tariff: Tariff | None = None, min_balance: int = 0, *, clock: FakeClock | None = None,
          observers: Observers = lambda _: (),
          reservations: InMemoryReservations | None = None) -> World:
    """The service on fakes; `observers(store)` builds its AfterCommit hooks."""
    clock = clock or FakeClock(start=T0)
    now = clock.now
    store = InMemoryTransactionEvents(now=now)
    ledger = InMemoryLedger(now=now)
    tokens = InMemoryIdTokens(now=now)
    tariffs = InMemoryTariffs(now=now)
    reservations = reservations or InMemoryReservations(now=now)
    queries = InMemoryTransactionQueries(store, ledger)
    authorizer = Authorizer(tokens, ledger, queries, clock=now, min_balance_centavos=min_balance)
    billing = BillingService(ledger)
    service = TransactionService(
        store, tariffs, authorizer, billing, clock=now, reservations=reservations,
        default_tariff=tariff or Tariff(price_per_kwh_centavos=150, session_fee_centavos=100),
        observers=observers(store))
    return World(clock, store, ledger, tokens, tariffs, reservations, queries, authorizer,
                 billing, service)
