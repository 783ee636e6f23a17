"""Node wiring from settings, and the simulator's command line."""

from __future__ import annotations

import msgspec

from sigec_actors.charge_point.wiring import policy_from, station_sessions
from sigec_actors.config import load_settings
from sigec_actors.domain.records import NewStation
from sigec_actors.node_tree import NodeTree, build_node_tree
from sigec_actors.simulator.__main__ import parse_args
from sigec_actors.testing import FakeClock, running_system
from sigec_actors.testing.ocpp import FakeLink, Fakes
from sigec_actors.testing.runtime import settle
from tests.charge_point.conftest import BOOT


async def test_station_sessions_from_settings() -> None:
    settings = load_settings(env={}, overrides={"ocpp.heartbeat_interval_s": 120,
                                                "ocpp.command_queue_size": 4})
    policy = policy_from(settings.ocpp)
    assert (policy.heartbeat_interval_s, policy.command_queue_size) == (120, 4)
    clock = FakeClock()
    fakes = Fakes(clock)
    await fakes.stations.register(NewStation(id="CP-W", security_profile=0))
    async with running_system(build_node_tree("node-1"), clock=clock, name="node-1") as (
            system, root):
        tree = NodeTree(system, root)
        sessions = station_sessions(tree, settings.ocpp, stations=fakes.stations,
                                    transaction_events=fakes.tx_events, audit=fakes.audit,
                                    bus=fakes.bus, clock=clock)
        link = FakeLink("CP-W")
        sink = await sessions.attach(link)
        await sink.on_frame(msgspec.json.encode([2, "b", "BootNotification", BOOT]))
        await settle(system)
        [answer] = link.replies("b")
        assert answer[2]["interval"] == 120
        await sessions.aclose()


def test_simulator_cli_arguments() -> None:
    args = parse_args(["--id", "CP-9", "--password", "x" * 16, "--refuse", "Reset,ClearCache"])
    assert (args.station_id, args.url, args.refuse) == (
        "CP-9", "ws://127.0.0.1:9000/ocpp", "Reset,ClearCache")
