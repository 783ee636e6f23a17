"""Commands across nodes name their caller: the node that runs one audits it, or refuses it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
import nats
import pytest

from api.commands import CommandWithoutCaller, acting_for
from sigec_actors.adapters.memory_bus import MemoryEventBus
from sigec_actors.adapters.nats_bus import NatsEventBus
from sigec_actors.adapters.pg_audit import PgAuditLog
from sigec_actors.charge_point.errors import StationCallError
from sigec_actors.cluster import wire
from sigec_actors.cluster.routing import StationRouter, command_subject
from sigec_actors.domain.records import AuditEntry, Caller
from sigec_actors.node_actors import ActorAction, ActorActionReply, NodeActorsView, actors_subject
from sigec_actors.node_ports import ApiCommander, AuditedCommands
from sigec_actors.ocpp.generated import v201
from sigec_actors.ports import DbPool
from sigec_actors.runtime import Actor, ChildSpec, Supervisor
from sigec_actors.testing import running_system, settle

pytestmark = [pytest.mark.pg, pytest.mark.nats]

UNLOCK = v201.UnlockConnectorRequest(evse_id=1, connector_id=1)
UNLOCKED = v201.UnlockConnectorResponse(status=v201.UnlockStatusEnum.UNLOCKED)
ALICE = Caller("user", str(uuid.uuid4()), "operator", "203.0.113.7")  # her client address


@dataclass
class Station:
    """The station side of a node (what its ChargePoint actors answer): unlocks, or fails."""

    fail: dict[str, Exception] = field(default_factory=dict)
    seen: list[tuple[str, Caller, str]] = field(default_factory=list)

    async def send_command(self, station_id: str, request: msgspec.Struct,
                           timeout_s: float | None, caller: Caller,
                           origin: str) -> msgspec.Struct:
        self.seen.append((station_id, caller, origin))
        if station_id in self.fail:
            raise self.fail[station_id]
        return UNLOCKED


@dataclass
class Nodes:
    a: StationRouter
    b: StationRouter
    station_b: Station
    nc: nats.aio.client.Client
    prefix: str


@pytest.fixture
async def nodes(nats_url: str, pg_pool: DbPool) -> AsyncIterator[Nodes]:
    """Two nodes on real NATS; node-b holds the stations and audits into PostgreSQL."""
    nc_a, nc_b = await nats.connect(nats_url), await nats.connect(nats_url)
    prefix = f"t{uuid.uuid4().hex[:12]}"
    station_a, station_b = Station(), Station()
    a = StationRouter(NatsEventBus(nc_a), "node-a",
                      AuditedCommands(station_a, PgAuditLog(pg_pool), "node-a"),
                      prefix=prefix, default_timeout_s=2.0, flush=nc_a.flush)
    b = StationRouter(NatsEventBus(nc_b), "node-b",
                      AuditedCommands(station_b, PgAuditLog(pg_pool), "node-b"),
                      prefix=prefix, default_timeout_s=2.0, flush=nc_b.flush)
    yield Nodes(a, b, station_b, nc_a, prefix)
    await a.close()
    await b.close()
    await nc_a.close()
    await nc_b.close()


async def _audited(pool: DbPool, station_id: str) -> list[AuditEntry]:
    return [r.entry for r in await PgAuditLog(pool).recent(10, target_type="station",
                                                            target_id=station_id)]


async def test_a_cross_node_command_is_audited_under_its_caller(nodes: Nodes,
                                                                pg_pool: DbPool) -> None:
    await nodes.b.attach("CP-R1")
    assert await nodes.a.commander.send("CP-R1", UNLOCK, 2.0, caller=ALICE) == UNLOCKED
    assert nodes.station_b.seen == [("CP-R1", ALICE, "node-a")]
    assert await _audited(pg_pool, "CP-R1") == [AuditEntry(
        "user", "command.UnlockConnector", ALICE.actor_id, "station", "CP-R1",
        {"role": "operator", "result": "ok", "status": "Unlocked", "node": "node-b",
         "origin": "node-a"}, ip="203.0.113.7")]  # audited like REST: her address too


async def test_a_local_command_is_audited_the_same_way(nodes: Nodes, pg_pool: DbPool) -> None:
    await nodes.b.attach("CP-R2")
    await nodes.b.commander.send("CP-R2", UNLOCK, 2.0, caller=ALICE)
    [entry] = await _audited(pg_pool, "CP-R2")
    assert (entry.actor_id, entry.action) == (ALICE.actor_id, "command.UnlockConnector")
    assert entry.details == {"role": "operator", "result": "ok", "status": "Unlocked",
                             "node": "node-b", "origin": "node-b"}


async def test_a_failed_command_is_audited_with_its_error(nodes: Nodes, pg_pool: DbPool) -> None:
    nodes.station_b.fail["CP-R3"] = StationCallError("CP-R3", "UnlockConnector", "NotSupported",
                                                      "no lock")
    await nodes.b.attach("CP-R3")
    with pytest.raises(StationCallError):
        await nodes.a.commander.send("CP-R3", UNLOCK, 2.0, caller=ALICE)
    [entry] = await _audited(pg_pool, "CP-R3")
    assert entry.details["result"] == "StationCallError"
    assert "status" not in entry.details


async def test_a_job_command_carries_its_caller_and_is_not_audited(
        nodes: Nodes, pg_pool: DbPool) -> None:
    jobs = Caller("system", "jobs")
    await nodes.b.attach("CP-R4")
    await nodes.a.commander.as_caller(jobs).send("CP-R4", UNLOCK, 2.0)
    assert nodes.station_b.seen == [("CP-R4", jobs, "node-a")]
    assert await _audited(pg_pool, "CP-R4") == []


async def test_a_command_envelope_without_a_caller_is_refused(nodes: Nodes,
                                                              pg_pool: DbPool) -> None:
    """What the attack sent: a bare Command on the station's subject."""
    await nodes.b.attach("CP-R5")
    bare = wire.Command("UnlockConnector", msgspec.Raw(wire.encode_payload(UNLOCK)), 2.0,
                        "intruder")
    raw = await nodes.nc.request(command_subject("CP-R5", nodes.prefix), wire.encode(bare),
                                 timeout=3)
    reply = wire.decode_outbound(raw.data)
    assert isinstance(reply, wire.Failed) and reply.kind == "Unauthorized"
    assert nodes.station_b.seen == []
    assert await _audited(pg_pool, "CP-R5") == []


async def test_the_rest_commander_sends_for_the_request_caller_only() -> None:
    station = Station()
    router = StationRouter(MemoryEventBus(), "node-a", station)
    await router.attach("CP-R6")
    api = ApiCommander(router.commander)
    with pytest.raises(CommandWithoutCaller):
        await api.send("CP-R6", UNLOCK)
    with acting_for(ALICE):
        assert await api.send("CP-R6", UNLOCK) == UNLOCKED
    assert station.seen == [("CP-R6", ALICE, "node-a")]
    await router.close()


class Worker(Actor[str]):
    async def receive(self, msg: str) -> Any:
        return msg


async def test_a_forwarded_actor_action_without_its_operator_is_refused() -> None:
    spec = ChildSpec("node", lambda: Supervisor([ChildSpec("w", Worker, kind="Worker")]),
                     shutdown_timeout_s=None)
    bus = MemoryEventBus()
    async with running_system(spec, name="node") as (system, _root):
        view = NodeActorsView(system, bus)
        await view.serve()
        subject = actors_subject(system.name)
        bare = msgspec.json.encode(ActorAction("restart", "/node/w"))
        reply = msgspec.json.decode(await bus.request(subject, bare, 2.0), type=ActorActionReply)
        assert (reply.ok, reply.error) == (False, "no caller")
        await settle(system)
        assert system.snapshot().children[0].restarts == 0
        signed = msgspec.json.encode(ActorAction("restart", "/node/w", by=ALICE.actor_id))
        reply = msgspec.json.decode(await bus.request(subject, signed, 2.0), type=ActorActionReply)
        assert reply.ok
        await settle(system)
        assert system.snapshot().children[0].restarts == 1
        await view.close()
