"""Each surface can be turned off in config; on, it binds its port (0 = a free one)."""

from __future__ import annotations

import socket

import pytest

from api.context import AppContext
from api.surfaces import Surfaces
from sigec_actors.config import Settings, load_settings


def _settings(graphql: str, grpc: str) -> Settings:
    return load_settings(env={"SIGEC_SERVER__GRAPHQL_ENABLED": graphql,
                              "SIGEC_SERVER__GRPC_ENABLED": grpc,
                              "SIGEC_SERVER__GRAPHQL_PORT": "0", "SIGEC_SERVER__GRPC_PORT": "0"})


@pytest.mark.parametrize(("graphql", "grpc"), [("true", "false"), ("false", "true"),
                                               ("false", "false")])
async def test_a_surface_turned_off_is_not_started(graphql: str, grpc: str) -> None:
    settings = _settings(graphql, grpc)
    surfaces = Surfaces(AppContext(settings=settings), settings, None)
    ports = await surfaces.start()
    try:
        assert (ports.graphql is not None) == (graphql == "true")
        assert (ports.grpc is not None) == (grpc == "true")
        for port in (ports.graphql, ports.grpc):
            if port is not None:  # listening
                with socket.create_connection(("127.0.0.1", port), timeout=2):
                    pass
    finally:
        await surfaces.stop()


def test_defaults_are_the_issue_ports() -> None:
    server = load_settings(env={}).server
    assert (server.graphql_port, server.grpc_port) == (8081, 50051)
    assert server.graphql_enabled and server.grpc_enabled
