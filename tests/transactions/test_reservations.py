"""Reservations: the state table, ReserveNow/Cancel/StatusUpdate, holder-only starts, expiry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from sigec_actors.domain.records import IdTokenType
from sigec_actors.ocpp.generated.v201 import AuthorizationStatusEnum as A
from sigec_actors.ocpp.generated.v201 import (
    CancelReservationResponse,
    ReservationStatusUpdateRequest,
    ReserveNowRequest,
    ReserveNowResponse,
)
from sigec_actors.ports import DbPool
from sigec_actors.testing import InMemoryReservations
from sigec_actors.transactions.errors import (
    IllegalReservationTransition,
    ReservationConflict,
    ReservationLimitReached,
    UnknownEvse,
    UnknownReservation,
)
from sigec_actors.transactions.ports import ReservationRepository
from sigec_actors.transactions.reservation_model import (
    LIVE,
    TRANSITIONS,
    NewReservation,
    Reservation,
    ReservationStatus,
    check_transition,
)
from sigec_actors.transactions.reservations import ExpiryTimer, ReservationService
from tests.transactions.builders import T0, E, event, world
from tests.transactions.conftest import new_station, new_user

S = ReservationStatus


class Commander:
    """Answers ReserveNow / CancelReservation with canned statuses and records the requests."""

    def __init__(self, reserve: str = "Accepted", cancel: str = "Accepted") -> None:
        self.reserve, self.cancel, self.sent = reserve, cancel, []

    async def send(self, station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        self.sent.append((station_id, request))
        if isinstance(request, ReserveNowRequest):
            return msgspec.convert({"status": self.reserve}, ReserveNowResponse)
        return msgspec.convert({"status": self.cancel}, CancelReservationResponse)


def test_only_live_states_have_ways_out() -> None:
    for status, nexts in TRANSITIONS.items():
        assert bool(nexts) == (status in LIVE), status
    assert set(TRANSITIONS) == set(ReservationStatus)


def _new(station: str, user: uuid.UUID, evse: int = 1, minutes: int = 15) -> NewReservation:
    return NewReservation(station_id=station, user_id=user, id_token="CARD-R",
                          id_token_type="ISO14443", evse_id=evse,
                          expires_at=T0 + timedelta(minutes=minutes))


async def test_repository_contract_in_memory() -> None:
    await _contract(InMemoryReservations(now=lambda: T0, evses={"CP1": {1, 2}}), "CP1",
                    uuid.uuid4())


@pytest.mark.pg
async def test_repository_contract_on_postgresql(pool: DbPool) -> None:
    from sigec_actors.adapters.pg_reservations import PgReservationRepository
    await _contract(PgReservationRepository(pool), await new_station(pool, 2), await new_user(pool))


async def _contract(repo: ReservationRepository, station: str, user: uuid.UUID) -> None:
    r = await repo.create(_new(station, user))
    assert r.status is S.PENDING and await repo.get(r.id) == r
    assert await repo.by_ocpp_id(station, r.ocpp_id) == r
    with pytest.raises(ReservationConflict):
        await repo.create(_new(station, user))
    other = await repo.create(_new(station, user, evse=2, minutes=5))
    assert await repo.next_expiry() == other.expires_at
    assert [x.id for x in await repo.due(T0 + timedelta(minutes=10))] == [other.id]
    assert await repo.transition(r.id, [S.ACCEPTED], S.USED) is None  # not Accepted yet
    moved = await repo.transition(r.id, LIVE, S.ACCEPTED)
    assert moved is not None and moved.status is S.ACCEPTED
    assert (await repo.live_for_evse(station, 1)) == moved
    assert {x.id for x in await repo.for_user(user)} >= {r.id, other.id}
    await repo.transition(r.id, LIVE, S.CANCELLED)
    assert await repo.live_for_evse(station, 1) is None
    await repo.create(_new(station, user))  # the EVSE is free again


async def test_reserve_cancel_and_status_update() -> None:
    repo = InMemoryReservations(now=lambda: T0)
    service, user = ReservationService(repo), uuid.uuid4()
    accepted = await service.reserve(Commander(), _new("CP1", user))
    assert accepted.status is S.ACCEPTED
    refused = await service.reserve(Commander(reserve="Occupied"), _new("CP1", user, evse=2))
    assert refused.status is S.OCCUPIED
    with pytest.raises(UnknownReservation):
        await service.cancel(Commander(), accepted.id, user_id=uuid.uuid4())
    cmd = Commander()
    cancelled = await service.cancel(cmd, accepted.id, user_id=user)
    assert cancelled.status is S.CANCELLED and cmd.sent[0][1].reservation_id == accepted.ocpp_id
    with pytest.raises(IllegalReservationTransition):
        check_transition(cancelled, S.ACCEPTED)
    again = await service.reserve(Commander(), _new("CP1", user))
    update = ReservationStatusUpdateRequest(reservation_id=again.ocpp_id,
                                            reservation_update_status="Expired")  # type: ignore[arg-type]
    update = msgspec.convert(msgspec.to_builtins(update), ReservationStatusUpdateRequest)
    await service.on_status_update("CP1", update)
    assert (await repo.get(again.id)).status is S.EXPIRED  # type: ignore[union-attr]


async def test_reserve_marks_rejected_when_the_station_cannot_be_reached() -> None:
    class Offline:
        async def send(self, *_: Any) -> msgspec.Struct:
            raise ConnectionError("offline")
    repo = InMemoryReservations(now=lambda: T0)
    with pytest.raises(ConnectionError):
        await ReservationService(repo).reserve(Offline(), _new("CP1", uuid.uuid4()))
    assert await repo.live_for_evse("CP1", 1) is None


async def test_expiry_timer_expires_due_reservations() -> None:
    repo = InMemoryReservations(now=lambda: T0)
    service = ReservationService(repo)
    r = await service.reserve(Commander(), _new("CP1", uuid.uuid4(), minutes=10))
    now = [T0]
    timer = ExpiryTimer(service, now=lambda: now[0], max_wait_s=3600)
    assert await timer.run_once() == 600
    now[0] = T0 + timedelta(minutes=10)
    assert await timer.run_once() == 3600  # nothing live: the longest wait
    assert (await repo.get(r.id)).status is S.EXPIRED  # type: ignore[union-attr]


async def test_reserved_evse_only_starts_for_its_holder() -> None:
    w = world()
    holder, stranger = uuid.uuid4(), uuid.uuid4()
    await w.tokens.add(holder, "CARD-R", IdTokenType.ISO14443)
    await w.tokens.add(stranger, "CARD-X", IdTokenType.ISO14443)
    r = await ReservationService(w.reservations).reserve(Commander(), _new("CP1", holder))
    blocked = await w.service.handle_event(
        "CP1", event(E.STARTED, 0, T0, tx="tx-x", wh=0, token="CARD-X"), T0)
    assert blocked.id_token_info is not None
    assert blocked.id_token_info.status is A.NOT_AT_THIS_TIME
    ok = await w.service.handle_event(
        "CP1", event(E.STARTED, 0, T0, tx="tx-r", wh=0, token="CARD-R", reservation=r.ocpp_id),
        T0)
    assert ok.id_token_info is not None and ok.id_token_info.status is A.ACCEPTED
    assert (await w.reservations.get(r.id)).status is S.USED  # type: ignore[union-attr]
    tx = await w.store.find("CP1", "tx-r")
    assert tx is not None and tx.reservation_id == r.id


async def test_expiry_cancels_accepted_reservations_at_their_station() -> None:
    repo = InMemoryReservations(now=lambda: T0)
    service = ReservationService(repo)
    accepted = await service.reserve(Commander(), _new("CP1", uuid.uuid4(), minutes=1))
    refused = await service.reserve(Commander(reserve="Faulted"), _new("CP1", uuid.uuid4(), 2))
    pending = await repo.create(_new("CP2", uuid.uuid4(), minutes=1))  # never answered
    cmd = Commander()
    expired = await service.expire_due(T0 + timedelta(minutes=2), cmd)
    assert {r.id for r in expired} == {accepted.id, pending.id}
    assert [(sid, req.reservation_id) for sid, req in cmd.sent] == [("CP1", accepted.ocpp_id)]
    assert (await repo.get(refused.id)).status is S.FAULTED  # type: ignore[union-attr]
    assert await service.expire_due(T0 + timedelta(minutes=3), cmd) == []  # once


async def test_expiry_timer_runs_until_cancelled_and_wakes_when_poked() -> None:
    import asyncio

    from sigec_actors.charge_point.errors import StationOffline

    class Offline:
        async def send(self, *_: Any) -> msgspec.Struct:
            raise StationOffline("CP1", "CancelReservation")

    repo = InMemoryReservations(now=lambda: T0)
    service = ReservationService(repo)
    now = [T0]
    rounds = asyncio.Queue[float]()

    async def sleep(wait: float) -> None:
        rounds.put_nowait(wait)
        await asyncio.Event().wait()  # only a poke ends this wait

    timer = ExpiryTimer(service, now=lambda: now[0], sleep=sleep, max_wait_s=30)
    timer.bind(Offline())  # an offline station: logged, the timer goes on
    task = asyncio.create_task(timer.run())
    assert await asyncio.wait_for(rounds.get(), 1) == 30
    r = await service.reserve(Commander(), _new("CP1", uuid.uuid4(), minutes=1))
    timer.poke()
    assert await asyncio.wait_for(rounds.get(), 1) == 30  # capped by max_wait_s
    now[0] = T0 + timedelta(minutes=1)
    timer.poke()
    assert await asyncio.wait_for(rounds.get(), 1) == 30
    assert (await repo.get(r.id)).status is S.EXPIRED  # type: ignore[union-attr]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_naming_the_reservation_does_not_let_another_token_use_it() -> None:
    w = world()
    holder, stranger = uuid.uuid4(), uuid.uuid4()
    await w.tokens.add(holder, "CARD-R", IdTokenType.ISO14443)
    await w.tokens.add(stranger, "CARD-X", IdTokenType.ISO14443)
    r = await ReservationService(w.reservations).reserve(Commander(), _new("CP1", holder))
    sneaky = await w.service.handle_event("CP1", event(
        E.STARTED, 0, T0, tx="tx-x", wh=0, token="CARD-X", reservation=r.ocpp_id), T0)
    assert sneaky.id_token_info is not None
    assert sneaky.id_token_info.status is A.NOT_AT_THIS_TIME
    assert (await w.reservations.get(r.id)).status is S.ACCEPTED  # type: ignore[union-attr]
    tx = await w.store.find("CP1", "tx-x")
    assert tx is not None and tx.reservation_id is None


async def test_the_holder_uses_the_reservation_without_naming_it() -> None:
    w = world()
    holder = uuid.uuid4()
    await w.tokens.add(holder, "card-r", IdTokenType.ISO14443)  # tokens compare caselessly
    r = await ReservationService(w.reservations).reserve(Commander(), _new("CP1", holder))
    ok = await w.service.handle_event(
        "CP1", event(E.STARTED, 0, T0, tx="tx-r", wh=0, token="card-r"), T0)
    assert ok.id_token_info is not None and ok.id_token_info.status is A.ACCEPTED
    assert (await w.reservations.get(r.id)).status is S.USED  # type: ignore[union-attr]
    tx = await w.store.find("CP1", "tx-r")
    assert tx is not None and tx.reservation_id == r.id
    # the EVSE is free for anyone once its holder has used it
    await w.tokens.add(uuid.uuid4(), "CARD-Y", IdTokenType.ISO14443)
    other = await w.service.handle_event(
        "CP1", event(E.STARTED, 0, T0, tx="tx-y", wh=0, token="CARD-Y"), T0)
    assert other.id_token_info is not None and other.id_token_info.status is A.ACCEPTED


async def test_a_refused_holder_does_not_consume_the_reservation() -> None:
    from sigec_actors.domain.records import IdTokenStatus

    w = world()
    holder = uuid.uuid4()
    card = await w.tokens.add(holder, "CARD-R", IdTokenType.ISO14443)
    r = await ReservationService(w.reservations).reserve(Commander(), _new("CP1", holder))
    await w.tokens.set_status(card.id, IdTokenStatus.BLOCKED)
    no = await w.service.handle_event(
        "CP1", event(E.STARTED, 0, T0, tx="tx-r", wh=0, token="CARD-R"), T0)
    assert no.id_token_info is not None and no.id_token_info.status is A.BLOCKED
    assert (await w.reservations.get(r.id)).status is S.ACCEPTED  # type: ignore[union-attr]


async def test_any_token_of_the_holding_user_may_start() -> None:
    w = world()
    holder = uuid.uuid4()
    await w.tokens.add(holder, "app-token", IdTokenType.CENTRAL)  # what REST reserves with
    await w.tokens.add(holder, "CARD-H", IdTokenType.ISO14443)  # what the holder taps
    new = msgspec.structs.replace(_new("CP1", holder), id_token="app-token",
                                  id_token_type="Central")
    r = await ReservationService(w.reservations).reserve(Commander(), new)
    ok = await w.service.handle_event(
        "CP1", event(E.STARTED, 0, T0, tx="tx-h", wh=0, token="CARD-H"), T0)
    assert ok.id_token_info is not None and ok.id_token_info.status is A.ACCEPTED
    assert (await w.reservations.get(r.id)).status is S.USED  # type: ignore[union-attr]


def _soon(station: str, user: uuid.UUID, evse: int | None, hours: float = 1) -> NewReservation:
    """Expiring in real time: PostgreSQL counts a reservation live until now() passes it."""
    return NewReservation(station_id=station, user_id=user, id_token="CARD-R",
                          id_token_type="ISO14443", evse_id=evse,
                          expires_at=datetime.now(UTC) + timedelta(hours=hours))


@pytest.mark.pg
async def test_pg_refuses_unreported_evses_and_caps_live_reservations(pool: DbPool) -> None:
    from sigec_actors.adapters.pg_reservations import PgReservationRepository
    repo = PgReservationRepository(pool)
    station, other, bare = await new_station(pool, 2), await new_station(pool, 1), await new_station(pool)
    ana, bob = await new_user(pool), await new_user(pool)
    with pytest.raises(UnknownEvse) as unknown:
        await repo.create(_soon(station, ana, 21))
    assert (unknown.value.evse_id, unknown.value.known) == (21, (1, 2))
    with pytest.raises(UnknownEvse):  # a station that reported no EVSE yet takes none
        await repo.create(_soon(bare, ana, 1))
    with pytest.raises(ReservationLimitReached) as empty:
        await repo.create(_soon(bare, ana, None))
    assert (empty.value.scope, empty.value.limit) == ("station", 0)
    first = await repo.create(_soon(station, ana, 1))
    await repo.create(_soon(station, ana, None))
    with pytest.raises(ReservationLimitReached) as mine:  # the cap spans stations
        await repo.create(_soon(other, ana, 1))
    assert (mine.value.scope, mine.value.held, mine.value.limit) == ("user", 2, 2)
    with pytest.raises(ReservationLimitReached) as full:  # 2 EVSEs, 2 live reservations
        await repo.create(_soon(station, bob, None))
    assert full.value.scope == "station"
    await repo.transition(first.id, LIVE, S.CANCELLED)
    with pytest.raises(ReservationLimitReached) as twice:
        await repo.create(_soon(station, ana, None))
    assert twice.value.scope == "any-evse"
    assert (await repo.create(_soon(station, bob, 2))).status is S.PENDING
    # a Pending row past its expiry (the timer has not run yet) holds nothing
    carl = await new_user(pool)
    await repo.create(_soon(other, carl, 1, hours=-1))
    with pytest.raises(ReservationConflict):  # ... but its EVSE until the timer expires it
        await repo.create(_soon(other, carl, 1))
    await repo.create(_soon(other, carl, None))
    third = await new_station(pool, 2)
    await repo.create(_soon(third, carl, 1))  # the expired row did not count: 2 live now
    with pytest.raises(ReservationLimitReached):
        await repo.create(_soon(third, carl, 2))
    await repo.create(_soon(third, carl, 2), max_live_per_user=3)


@pytest.mark.pg
async def test_pg_caps_hold_under_concurrent_requests(pool: DbPool) -> None:
    import asyncio

    from sigec_actors.adapters.pg_reservations import PgReservationRepository
    repo = PgReservationRepository(pool)
    stations = [await new_station(pool, 4) for _ in range(3)]
    user = await new_user(pool)
    results = await asyncio.gather(*(repo.create(_soon(s, user, e))
                                     for s in stations for e in (1, 2, 3, 4)),
                                   return_exceptions=True)
    made = [r for r in results if isinstance(r, Reservation)]
    refused = [r for r in results if isinstance(r, ReservationLimitReached)]
    assert (len(made), len(refused)) == (2, 10), results
    one_evse = await new_station(pool, 1)
    users = [await new_user(pool) for _ in range(8)]
    results = await asyncio.gather(*(repo.create(_soon(one_evse, u, None)) for u in users),
                                   return_exceptions=True)
    assert sum(isinstance(r, Reservation) for r in results) == 1, results


async def test_service_refuses_over_the_cap_without_asking_the_station() -> None:
    repo = InMemoryReservations(now=lambda: T0, evses={"CP1": {1, 2, 3}})
    service, user, cmd = ReservationService(repo, max_live_per_user=1), uuid.uuid4(), Commander()
    await service.reserve(cmd, _new("CP1", user, evse=1))
    with pytest.raises(ReservationLimitReached):
        await service.reserve(cmd, _new("CP1", user, evse=2))
    with pytest.raises(UnknownEvse):
        await service.reserve(cmd, _new("CP1", uuid.uuid4(), evse=4))
    assert len(cmd.sent) == 1
