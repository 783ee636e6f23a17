"""A discharge across two nodes on real NATS and PostgreSQL: started and stopped through the node
that does not hold the station, run on the one that does; control without a caller refused."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import msgspec
import nats
import pytest

from sigec_actors.adapters.nats_bus import NatsEventBus
from sigec_actors.adapters.pg_audit import PgAuditLog
from sigec_actors.adapters.pg_ledger import PgLedgerRepository
from sigec_actors.cluster.routing import StationRouter
from sigec_actors.config import load_settings
from sigec_actors.domain.ledger import AccountKind
from sigec_actors.domain.records import AuditEntry, Caller
from sigec_actors.node_ports import AuditedCommands
from sigec_actors.node_tree import NodeTree
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import DbPool
from sigec_actors.runtime import ActorSystem
from sigec_actors.testing.v2g import FakeGridPrices
from sigec_actors.v2g_session import control
from sigec_actors.v2g_session.control import RunSessions, StopSession
from sigec_actors.v2g_session.messages import ProfileAnswered
from sigec_actors.v2g_session.queries import PgV2GQueries
from sigec_actors.v2g_session.service import StartRequest
from sigec_actors.v2g_session.state import Status, V2GState, decide
from sigec_actors.v2g_session.wiring import V2GWiring
from tests.transactions.conftest import new_station, new_user
from tests.v2g_session.conftest import H20, H21, PRICES, tx_event

pytestmark = [pytest.mark.pg, pytest.mark.nats]
JOBS = Caller("system", "jobs")
NET = 88  # 2,400 Wh over 20:50-21:10 at the fixture prices (tests/v2g_session)


@dataclass
class Station:
    """The station behind a node's ChargePoint actors: accepts the profile and its clear."""

    seen: list[tuple[str, Caller, str]] = field(default_factory=list)

    async def send_command(self, station_id: str, request: msgspec.Struct,
                           timeout_s: float | None, caller: Caller,
                           origin: str) -> msgspec.Struct:
        self.seen.append((type(request).__name__, caller, origin))
        if isinstance(request, v201.ClearChargingProfileRequest):
            return v201.ClearChargingProfileResponse(
                status=v201.ClearChargingProfileStatusEnum.ACCEPTED)
        assert isinstance(request, v201.SetChargingProfileRequest)
        return v201.SetChargingProfileResponse(status=v201.ChargingProfileStatusEnum.ACCEPTED)


@dataclass
class Node:
    name: str
    system: ActorSystem
    router: StationRouter
    v2g: V2GWiring
    station: Station
    nc: nats.aio.client.Client


async def _node(name: str, nats_url: str, pool: DbPool, prefix: str) -> Node:
    nc = await nats.connect(nats_url)
    bus, audit, station = NatsEventBus(nc), PgAuditLog(pool), Station()
    router = StationRouter(bus, name, AuditedCommands(station, audit, name), prefix=prefix,
                           default_timeout_s=3.0, flush=nc.flush)
    system = ActorSystem(name=name)
    tree = await NodeTree.start(system)
    wiring = V2GWiring(pool, load_settings({}).v2g, tree.v2g, prices=FakeGridPrices(PRICES),
                       ledger=PgLedgerRepository(pool), bus=bus, holds=router.holds,
                       jobs=lambda: router.commander.as_caller(JOBS), node=name, audit=audit,
                       subject=f"{prefix}.v2g.control")
    await wiring.serve()
    return Node(name, system, router, wiring, station, nc)


@dataclass
class Cluster:
    a: Node
    b: Node
    subject: str
    station: str
    tx_id: str
    owner: Caller


@pytest.fixture
async def cluster(nats_url: str, pg_pool: DbPool) -> AsyncIterator[Cluster]:
    """node-a holds a V2G station with the owner's active transaction; node-b does not."""
    prefix = f"t{uuid.uuid4().hex[:12]}"
    a = await _node("node-a", nats_url, pg_pool, prefix)
    b = await _node("node-b", nats_url, pg_pool, prefix)
    station, user = await new_station(pg_pool, evses=1), await new_user(pg_pool)
    tx_id = f"tx-{uuid.uuid4().hex[:8]}"
    async with pg_pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO transactions (charge_point_id, station_transaction_id, evse_id,"
            " user_id, status, started_at) VALUES ($1, $2, 1, $3, 'Active', $4)",
            station, tx_id, user, H20)
        await conn.execute("UPDATE charge_points SET online = true WHERE id = $1", station)
    await PgV2GQueries(pg_pool).set_mode(station, "v201_negative_limit", 7000)
    await a.router.attach(station)
    yield Cluster(a, b, f"{prefix}.v2g.control", station, tx_id,
                  Caller("user", str(user), "user"))
    for node in (a, b):
        await node.v2g.aclose()
        await node.router.close()
        await node.system.shutdown()
        await node.nc.close()


async def _until_running(node: Node, session_id: uuid.UUID) -> None:
    for _ in range(250):
        if node.v2g.sessions.ref(session_id) is not None:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"{session_id} never ran on {node.name}")


async def _audit(pool: DbPool, station: str, action: str) -> list[AuditEntry]:
    records = await PgAuditLog(pool).recent(20, target_type="station", target_id=station)
    return [r.entry for r in records if r.entry.action == action]


async def _wallet(pool: DbPool, user: str) -> int:
    ledger = PgLedgerRepository(pool)
    account = await ledger.account(AccountKind.USER_WALLET, uuid.UUID(user))
    return await ledger.balance(account.id)


async def test_started_and_stopped_through_the_other_node_it_runs_on_the_holder(
        cluster: Cluster, pg_pool: DbPool) -> None:
    a, b, owner = cluster.a, cluster.b, cluster.owner
    service = b.v2g.service(b.router.commander.as_caller(owner))
    state = await service.start(StartRequest(
        user_id=uuid.UUID(owner.actor_id), station_id=cluster.station, evse_id=1, min_soc=20,
        caller=owner))
    assert state.status is Status.ACTIVE
    await _until_running(a, state.session_id)
    assert b.v2g.sessions.ref(state.session_id) is None
    assert a.station.seen == [("SetChargingProfileRequest", owner, "node-b")]
    # the station's meter values reach the session on its node
    a.v2g.sessions.transaction_event(cluster.station, tx_event(cluster.tx_id, 2, [
        (H20 + timedelta(minutes=50), 10_000, 80), (H21 + timedelta(minutes=10), 12_400, 75)]))

    stopped = await service.stop(state.session_id, caller=owner)
    assert stopped is not None and stopped.status is Status.COMPLETED
    assert (stopped.stop_reason, stopped.exported_wh) == ("user", 2_400)
    assert a.station.seen[1] == ("ClearChargingProfileRequest", JOBS, "node-a")
    assert await _wallet(pg_pool, owner.actor_id) == NET
    [start] = await _audit(pg_pool, cluster.station, control.START)
    assert (start.actor_id, start.details["node"], start.details["result"]) == (
        owner.actor_id, "node-b", "ok")
    [stop] = await _audit(pg_pool, cluster.station, control.STOP)
    assert stop.actor_id == owner.actor_id
    assert {k: stop.details[k] for k in ("node", "origin", "result", "reason", "role")} == {
        "node": "node-a", "origin": "node-b", "result": "ok", "reason": "user", "role": "user"}


async def _live(pool: DbPool, cluster: Cluster) -> V2GState:
    """A live session of the station stored as if started elsewhere (no actor runs it)."""
    store = cluster.a.v2g.store
    tx = await PgV2GQueries(pool).active_transaction(cluster.station, 1)
    assert tx is not None
    state = V2GState(session_id=uuid.uuid4(), user_id=uuid.UUID(cluster.owner.actor_id),
                     station_id=cluster.station, evse_id=1, transaction_id=tx.id,
                     station_transaction_id=cluster.tx_id, mode="v201_negative_limit",
                     profile_id=77, max_discharge_w=7000, min_soc=20)
    await store.create(state)
    active, _ = decide(state, ProfileAnswered(True), H20)
    assert await store.save(Status.STARTING, active)
    return active


async def test_control_without_a_caller_is_refused(cluster: Cluster, pg_pool: DbPool) -> None:
    """What an intruder on the bus would send: bare envelopes with no caller."""
    state = await _live(pg_pool, cluster)
    nc = cluster.b.nc
    await nc.publish(cluster.subject, msgspec.json.encode(
        {"type": "run", "stationId": cluster.station}))
    raw = await nc.request(cluster.subject, msgspec.json.encode(
        {"type": "stop", "sessionId": str(state.session_id)}), timeout=3)
    assert control.decode_reply(raw.data) == control.UNAUTHORIZED
    # node-a handled the run before the stop (one subscription, in order): it ran nothing
    assert cluster.a.v2g.sessions.ref(state.session_id) is None
    await nc.publish(cluster.subject, control.encode(RunSessions(
        station_id=cluster.station, caller=cluster.owner, origin="node-b")))
    await _until_running(cluster.a, state.session_id)
    raw = await nc.request(cluster.subject, control.encode(StopSession(
        session_id=state.session_id)), timeout=3)  # the typed message without its caller
    assert control.decode_reply(raw.data) == control.UNAUTHORIZED
    loaded = await cluster.a.v2g.store.load(state.session_id)
    assert loaded is not None and loaded.status is Status.ACTIVE
    assert await _audit(pg_pool, cluster.station, control.STOP) == []
