"""Fakes of the ports this package adds: reservation listing, incomplete transactions, commanders."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec
from msgspec.structs import replace

from sigec_actors.domain.transactions import Transaction, TxStatus
from sigec_actors.ocpp.generated import v201
from sigec_actors.testing import InMemoryReservations, InMemoryTransactionEvents
from sigec_actors.transactions.reservation_model import Reservation, ReservationStatus


class ListedReservations(InMemoryReservations):
    """InMemoryReservations that is also a ReservationListing."""

    async def page(self, station_id: str | None = None, status: ReservationStatus | None = None,
                   limit: int = 50, offset: int = 0) -> list[Reservation]:
        rows = [r for r in self._rows.values()
                if station_id in (None, r.station_id) and status in (None, r.status)]
        rows.sort(key=lambda r: r.created_at, reverse=True)
        return rows[offset:offset + limit]


class Incomplete:
    """IncompleteTransactions over an InMemoryTransactionEvents; `reviews` are open alerts."""

    def __init__(self, store: InMemoryTransactionEvents) -> None:
        self._store = store
        self.reviews: dict[str, dict[str, object]] = {}

    async def incomplete(self, changed_before: datetime, limit: int = 50) -> list[Transaction]:
        rows = [t for t in self._store._txs.values()  # a fake reading its sibling fake
                if t.seq_gap and t.updated_at < changed_before and str(t.id) not in self.reviews]
        return sorted(rows, key=lambda t: t.updated_at)[:limit]

    async def open_review(self, tx: Transaction, details: dict[str, object]) -> bool:
        if str(tx.id) in self.reviews:
            return False
        self.reviews[str(tx.id)] = details
        return True

    async def active_on(self, station_id: str, evse_id: int | None,
                        limit: int = 50) -> list[Transaction]:
        rows = [t for t in self._store._txs.values() if t.station_id == station_id
                and t.status is TxStatus.ACTIVE and evse_id in (None, t.evse_id)]
        return sorted(rows, key=lambda t: t.updated_at)[:limit]

    async def close_lost(self, tx: Transaction, at: datetime) -> Transaction | None:
        key = (tx.station_id, tx.station_transaction_id)
        current = self._store._txs.get(key)
        if current is None or current.status is not TxStatus.ACTIVE or (
                current.updated_at != tx.updated_at):
            return None
        start = current.started_at or at
        closed = replace(current, status=TxStatus.ENDED, seq_gap=True, ended_at=max(at, start),
                         updated_at=max(at, current.updated_at + timedelta(microseconds=1)))
        self._store._txs[key] = closed
        return closed


Answer = Callable[[msgspec.Struct], msgspec.Struct]


def _status(kind: type[msgspec.Struct], value: str) -> Answer:
    return lambda _: msgspec.convert({"status": value}, kind)


class Station:
    """A Commander fake: canned answers per request type; `gate` holds every answer back
    until set (to prove nobody waits for it); `fail` raises instead of answering."""

    def __init__(self, *, in_queue: bool = False, fail: BaseException | None = None,
                 ongoing: bool | None = False) -> None:
        self.sent: list[tuple[str, msgspec.Struct]] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = fail
        self.answers: dict[type[msgspec.Struct], Answer] = {
            v201.ReserveNowRequest: _status(v201.ReserveNowResponse, "Accepted"),
            v201.CancelReservationRequest: _status(v201.CancelReservationResponse, "Accepted"),
            v201.CostUpdatedRequest: lambda _: v201.CostUpdatedResponse(),
            v201.GetTransactionStatusRequest: lambda _: v201.GetTransactionStatusResponse(
                messages_in_queue=in_queue, ongoing_indicator=ongoing),
        }

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        self.sent.append((station_id, request))
        await self.gate.wait()
        if self.fail is not None:
            raise self.fail
        return self.answers[type(request)](request)

    def of(self, kind: type[msgspec.Struct]) -> list[msgspec.Struct]:
        return [r for _, r in self.sent if isinstance(r, kind)]
