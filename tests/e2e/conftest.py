"""Fixtures of the end-to-end tests: the real server with a TLS listener."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers.pki import Pki, make_pki
from tests.helpers.server import ServerProcess, free_port, server_env


@pytest.fixture
async def tls_server(tmp_path: Path, fresh_pg_dsn: str,
                     nats_url: str) -> AsyncIterator[tuple[ServerProcess, Pki, int]]:
    pki = make_pki(tmp_path)
    tls_port = free_port()
    data = tmp_path / "data"
    server = ServerProcess(data, server_env(
        data, DATABASE_URL=fresh_pg_dsn, NATS_URL=nats_url,
        SIGEC_SERVER__OCPP_TLS_PORT=str(tls_port), SIGEC_OCPP__TLS_CERT=str(pki.server_cert),
        SIGEC_OCPP__TLS_KEY=str(pki.server_key)), tmp_path / "server.log")
    await asyncio.to_thread(server.start)
    yield server, pki, tls_port
    assert server.stop() == 0, server.log()
