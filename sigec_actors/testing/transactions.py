"""In-memory fakes of the transactions ports: tariffs, reservations and the read side."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Collection, Mapping, Set
from datetime import datetime, timedelta
from uuid import UUID

from msgspec.structs import replace

from sigec_actors.domain.transactions import Transaction, TxStatus
from sigec_actors.testing.repos import Now, utcnow
from sigec_actors.testing.repos_money import InMemoryLedger, InMemoryTransactionEvents
from sigec_actors.transactions.errors import ReservationConflict
from sigec_actors.transactions.ports import TxFilter
from sigec_actors.transactions.reservation_model import (
    LIVE,
    NewReservation,
    Reservation,
    ReservationStatus,
)
from sigec_actors.transactions.reservation_rules import (
    DEFAULT_MAX_LIVE_PER_USER,
    Holdings,
    admit,
)
from sigec_actors.transactions.tariffs import Tariff


class InMemoryTariffs:
    """TariffRepository fake."""

    def __init__(self, now: Now = utcnow) -> None:
        self._now = now
        self._tariffs: dict[UUID, Tariff] = {}

    async def add(self, tariff: Tariff) -> Tariff:
        saved = replace(tariff, id=tariff.id or uuid.uuid4(),
                        valid_from=tariff.valid_from or self._now())
        assert saved.id is not None
        self._tariffs[saved.id] = saved
        return saved

    async def get(self, tariff_id: UUID) -> Tariff | None:
        return self._tariffs.get(tariff_id)

    async def candidates(self, station_id: str) -> list[Tariff]:
        return [t for t in self._tariffs.values()
                if t.charge_point_id in (None, station_id)]


class InMemoryReservations:
    """ReservationRepository fake with the one-live-per-EVSE rule and `admit`.

    `evses`: the EVSEs each station reported; None = every station has EVSEs 1 to 99.
    """

    def __init__(self, now: Now = utcnow, evses: Mapping[str, Set[int]] | None = None) -> None:
        self._now = now
        self._rows: dict[UUID, Reservation] = {}
        self._ids = itertools.count(1)
        self._evses = evses

    async def create(self, new: NewReservation,
                     max_live_per_user: int = DEFAULT_MAX_LIVE_PER_USER) -> Reservation:
        live = [r for r in self._rows.values() if r.live_at(self._now())]
        here = [r for r in live if r.station_id == new.station_id]
        admit(new, Holdings(
            evses=frozenset(range(1, 100) if self._evses is None
                            else self._evses.get(new.station_id, ())),
            user_live=sum(r.user_id == new.user_id for r in live),
            user_any_here=sum(r.user_id == new.user_id and r.evse_id is None for r in here),
            station_live=len(here)), max_live_per_user)
        if new.evse_id is not None and await self.live_for_evse(new.station_id, new.evse_id):
            raise ReservationConflict(new.station_id, new.evse_id)
        r = Reservation(id=uuid.uuid4(), ocpp_id=next(self._ids), station_id=new.station_id,
                        user_id=new.user_id, id_token=new.id_token,
                        id_token_type=new.id_token_type, expires_at=new.expires_at,
                        status=ReservationStatus.PENDING, created_at=self._now(),
                        evse_id=new.evse_id, connector_type=new.connector_type)
        self._rows[r.id] = r
        return r

    async def get(self, reservation_id: UUID) -> Reservation | None:
        return self._rows.get(reservation_id)

    async def by_ocpp_id(self, station_id: str, ocpp_id: int) -> Reservation | None:
        return next((r for r in self._rows.values()
                     if (r.station_id, r.ocpp_id) == (station_id, ocpp_id)), None)

    async def transition(self, reservation_id: UUID, expected: Collection[ReservationStatus],
                         to: ReservationStatus) -> Reservation | None:
        r = self._rows.get(reservation_id)
        if r is None or r.status not in expected:
            return None
        self._rows[r.id] = replace(r, status=to)
        return self._rows[r.id]

    async def live_for_evse(self, station_id: str, evse_id: int) -> Reservation | None:
        return next((r for r in self._rows.values() if r.station_id == station_id
                     and r.evse_id == evse_id and r.status in LIVE), None)

    async def due(self, now: datetime, limit: int = 100) -> list[Reservation]:
        due = [r for r in self._rows.values() if r.status in LIVE and r.expires_at <= now]
        return sorted(due, key=lambda r: r.expires_at)[:limit]

    async def next_expiry(self) -> datetime | None:
        return min((r.expires_at for r in self._rows.values() if r.status in LIVE),
                   default=None)

    async def for_user(self, user_id: UUID, limit: int = 50,
                       offset: int = 0) -> list[Reservation]:
        mine = sorted((r for r in self._rows.values() if r.user_id == user_id),
                      key=lambda r: r.created_at, reverse=True)
        return mine[offset:offset + limit]


class InMemoryTransactionQueries:
    """TransactionQueries over an InMemoryTransactionEvents (and a ledger for `unbilled`)."""

    def __init__(self, store: InMemoryTransactionEvents,
                 ledger: InMemoryLedger | None = None) -> None:
        self._store = store
        self._ledger = ledger

    def _all(self) -> list[Transaction]:
        return list(self._store._txs.values())  # a fake reading its sibling fake

    async def page(self, where: TxFilter, limit: int = 50,
                   offset: int = 0) -> list[Transaction]:
        rows = [t for t in self._all() if _matches(t, where)]
        rows.sort(key=lambda t: str(t.id))
        rows.sort(key=_started_key, reverse=True)
        return rows[offset:offset + limit]

    async def count(self, where: TxFilter) -> int:
        return sum(1 for t in self._all() if _matches(t, where))

    async def active_with_token(self, id_token: str, token_type: str, *,
                                since: datetime) -> list[Transaction]:
        return [t for t in self._all() if t.status is TxStatus.ACTIVE
                and (t.id_token, t.id_token_type) == (id_token, token_type)
                and t.updated_at >= since]

    async def unbilled(self, source_type: str, limit: int = 100) -> list[Transaction]:
        out = []
        for t in self._all():
            if (t.status is not TxStatus.ENDED or t.seq_gap or t.user_id is None
                    or t.cost_centavos <= 0):
                continue
            key = f"{t.station_id}/{t.station_transaction_id}"
            if self._ledger is None or await self._ledger.entry_by_source(source_type, key) is None:
                out.append(t)
        return out[:limit]


def _started_key(t: Transaction) -> float:
    return t.started_at.timestamp() if t.started_at else float("-inf")


def _matches(t: Transaction, f: TxFilter) -> bool:
    if f.user_id is not None and t.user_id != f.user_id:
        return False
    if f.station_id is not None and t.station_id != f.station_id:
        return False
    if f.status is not None and t.status is not f.status:
        return False
    if f.since is not None and (t.started_at is None or t.started_at < f.since):
        return False
    return f.until is None or (t.started_at is not None and t.started_at < f.until)


def later(now: datetime, **delta: float) -> datetime:
    """`now` plus a timedelta (a small helper for reservation tests)."""
    return now + timedelta(**delta)
