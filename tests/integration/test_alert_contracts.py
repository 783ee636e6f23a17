"""Contract of the Alerts port: the in-memory fake and PostgreSQL pass the same tests."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from sigec_actors.adapters.outbox import PgOutbox
from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_alerts import PgAlerts
from sigec_actors.adapters.pg_stations import PgStationRepository
from sigec_actors.adapters.pg_users import PgUserRepository
from sigec_actors.alerts.model import (
    AlertFilter,
    AlertResolved,
    AlertStatus,
    NewAlert,
    Severity,
    UnknownAlert,
)
from sigec_actors.alerts.ports import Alerts
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.domain.events import ALERT_OPENED
from sigec_actors.domain.records import NewStation, NewUser, Role
from sigec_actors.ports import Outbox, StationRepository, UserRepository
from sigec_actors.testing import InMemoryAlerts, InMemoryOutbox, InMemoryStations, InMemoryUsers

HASH = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"


@dataclass
class Ports:
    alerts: Alerts
    outbox: Outbox
    stations: StationRepository
    users: UserRepository
    events: InMemoryOutbox | None  # the fake's, to read subjects; None on PostgreSQL


@pytest.fixture(params=["memory", "pg"])
def backend(request: pytest.FixtureRequest) -> str | None:
    """None for the fake, else the DSN of a migrated database (sync: it may block)."""
    return None if request.param == "memory" else request.getfixturevalue("migrated_pg_dsn")


@pytest.fixture
async def ports(backend: str | None) -> AsyncIterator[Ports]:
    if backend is None:
        outbox, stations = InMemoryOutbox(), InMemoryStations()
        yield Ports(InMemoryAlerts(outbox=outbox, stations=stations), outbox, stations,
                    InMemoryUsers(), outbox)
        return
    pool = await create_pool(backend, min_size=1, max_size=5)
    yield Ports(PgAlerts(pool), PgOutbox(pool), PgStationRepository(pool),
                PgUserRepository(pool), None)
    await pool.close()


async def _station(p: Ports) -> str:
    station_id = f"CP-{uuid.uuid4().hex[:10]}"
    await p.stations.register(NewStation(station_id, 3))  # profile 3: no password
    return station_id


async def _operator(p: Ports) -> uuid.UUID:
    user = await p.users.create(NewUser("Op", f"op{uuid.uuid4().hex[:8]}@example.com", HASH,
                                        Role.OPERATOR))
    return user.id


def _new(kind: str, station: str | None = None, key: str | None = None,
         severity: Severity = Severity.WARNING) -> NewAlert:
    return NewAlert(severity=severity, kind=kind, message=f"{kind} happened",
                    charge_point_id=station, details={"n": 1, "why": ["a", "b"]},
                    dedupe_key=key)


def _kind() -> str:
    return f"test_{uuid.uuid4().hex[:8]}"  # the PostgreSQL database is shared by the module


async def test_open_stores_the_alert_and_queues_alert_opened(ports: Ports) -> None:
    station = await _station(ports)
    pending = await ports.outbox.pending_count()
    opened = await ports.alerts.open(_new(_kind(), station, key=f"k-{uuid.uuid4()}"))
    assert opened.created
    alert = opened.alert
    assert alert.status is AlertStatus.OPEN and alert.charge_point_id == station
    assert alert.details == {"n": 1, "why": ["a", "b"]} and alert.acknowledged_by is None
    assert await ports.alerts.get(alert.id) == alert
    assert await ports.alerts.get(uuid.uuid4()) is None
    assert await ports.outbox.pending_count() == pending + 1
    if ports.events is not None:
        assert ports.events.subjects()[-1] == ALERT_OPENED
        assert ports.events.messages[-1][1].payload["alertId"] == str(alert.id)


async def test_an_open_key_opens_nothing_until_resolved(ports: Ports) -> None:
    kind, key = _kind(), f"k-{uuid.uuid4()}"
    first = await ports.alerts.open(_new(kind, key=key))
    pending = await ports.outbox.pending_count()
    again = await ports.alerts.open(_new(kind, key=key, severity=Severity.CRITICAL))
    assert not again.created and again.alert == first.alert
    assert await ports.outbox.pending_count() == pending  # no second event
    await ports.alerts.acknowledge(first.alert.id, await _operator(ports))
    assert (await ports.alerts.open(_new(kind, key=key))).alert.id == first.alert.id
    await ports.alerts.resolve(first.alert.id)
    reopened = await ports.alerts.open(_new(kind, key=key))
    assert reopened.created and reopened.alert.id != first.alert.id
    page = await ports.alerts.page(AlertFilter(kind=kind, status=None))
    assert page.total == 2


async def test_concurrent_opens_of_one_key_make_one_alert(ports: Ports) -> None:
    kind, key = _kind(), f"k-{uuid.uuid4()}"
    results = await asyncio.gather(*(ports.alerts.open(_new(kind, key=key)) for _ in range(8)))
    assert sum(r.created for r in results) == 1
    assert len({r.alert.id for r in results}) == 1


async def test_without_a_key_every_open_is_new(ports: Ports) -> None:
    kind = _kind()
    a = await ports.alerts.open(_new(kind))
    b = await ports.alerts.open(_new(kind))
    assert a.created and b.created and a.alert.id != b.alert.id


async def test_an_unknown_station_is_refused(ports: Ports) -> None:
    with pytest.raises(UnknownStation):
        await ports.alerts.open(_new(_kind(), "CP-NOBODY", key=f"k-{uuid.uuid4()}"))


async def test_page_filters_newest_first_with_total(ports: Ports) -> None:
    kind, station, other = _kind(), await _station(ports), await _station(ports)
    opened = [(await ports.alerts.open(_new(kind, s, severity=sev))).alert for s, sev in (
        (station, Severity.INFO), (other, Severity.CRITICAL), (station, Severity.CRITICAL),
        (station, Severity.WARNING))]
    operator = await _operator(ports)
    await ports.alerts.acknowledge(opened[1].id, operator)
    await ports.alerts.resolve(opened[2].id)

    async def ids(limit: int = 50, offset: int = 0, **where: object) -> tuple[list[int], int]:
        page = await ports.alerts.page(AlertFilter(kind=kind, **where),  # type: ignore[arg-type]
                                       limit, offset)
        order = [a.id for a in opened]
        return [order.index(a.id) for a in page.items], page.total

    assert await ids() == ([3, 0], 2)  # default: open (neither acknowledged nor resolved)
    assert await ids(status=None) == ([3, 2, 1, 0], 4)
    assert await ids(status=AlertStatus.ACKNOWLEDGED) == ([1], 1)
    assert await ids(status=AlertStatus.RESOLVED) == ([2], 1)
    assert await ids(status=None, severity=Severity.CRITICAL) == ([2, 1], 2)
    assert await ids(status=None, charge_point_id=station) == ([3, 2, 0], 3)
    assert await ids(2, 1, status=None) == ([2, 1], 4)
    assert await ids(2, 4, status=None) == ([], 4)
    assert (await ports.alerts.page(AlertFilter(kind=_kind(), status=None))).total == 0


async def test_acknowledge_keeps_the_first_and_refuses_resolved(ports: Ports) -> None:
    alert = (await ports.alerts.open(_new(_kind()))).alert
    first, second = await _operator(ports), await _operator(ports)
    acked = await ports.alerts.acknowledge(alert.id, first)
    assert acked.status is AlertStatus.ACKNOWLEDGED and acked.acknowledged_by == first
    assert acked.acknowledged_at is not None
    assert await ports.alerts.acknowledge(alert.id, second) == acked
    resolved = await ports.alerts.resolve(alert.id)
    assert resolved.status is AlertStatus.RESOLVED and resolved.acknowledged_by == first
    with pytest.raises(AlertResolved):
        await ports.alerts.acknowledge(alert.id, second)
    with pytest.raises(AlertResolved):
        await ports.alerts.resolve(alert.id)
    assert await ports.alerts.get(alert.id) == resolved


async def test_unknown_ids_raise_unknown_alert(ports: Ports) -> None:
    missing = uuid.uuid4()
    with pytest.raises(UnknownAlert):
        await ports.alerts.acknowledge(missing, await _operator(ports))
    with pytest.raises(UnknownAlert):
        await ports.alerts.resolve(missing)
