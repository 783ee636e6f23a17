"""HostedNode (what a NodeHost runs): a node that fails half-way through its start fails fast."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest

from sigec_actors.cluster.hosted import HostedNode
from sigec_actors.cluster.messages import NodeSpec
from sigec_actors.config import load_settings
from tests.helpers.server import free_port

pytestmark = [pytest.mark.pg, pytest.mark.nats]


async def test_a_node_whose_ocpp_port_is_taken_fails_within_seconds(
        tmp_path: Path, migrated_pg_dsn: str, nats_url: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The outbox relay is running by the time the gateway binds: the failed start must stop
    it before closing the pool (which waited for its connection forever: a 10 s start
    timeout, then a restart, for every such failure)."""
    # a hosted node takes this host's DATABASE_URL over the director's (local_settings): the
    # module's migrated database, not whatever the machine's DATABASE_URL holds
    monkeypatch.setenv("DATABASE_URL", migrated_pg_dsn)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        settings = load_settings({
            "SIGEC_DATA_DIR": str(tmp_path), "DATABASE_URL": migrated_pg_dsn,
            "NATS_URL": nats_url, "SIGEC_HTTP_PORT": str(free_port()),
            "SIGEC_OCPP_PORT": str(taken.getsockname()[1])})
        posted: list[Any] = []
        hosted = HostedNode(NodeSpec("node-1", "test-host", settings), posted.append)
        with pytest.raises(OSError, match="address already in use"):
            await asyncio.wait_for(hosted.run(), 8.0)
    assert posted == []  # never reported started
