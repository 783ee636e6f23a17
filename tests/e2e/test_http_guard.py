"""Issue #13 defect 7: slow headers and connection floods against the real server's REST, OCPP,
GraphQL and gRPC listeners (header timeout, per-address and total connection limits)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.helpers.server import ServerProcess, server_env

GIVE_UP_S = 20.0
"""Only so that a test without the fix fails instead of hanging; nothing is timed."""

Serve = Callable[..., AbstractAsyncContextManager[ServerProcess]]


@pytest.fixture
def serve(tmp_path: Path, fresh_pg_dsn: str, nats_url: str) -> Serve:
    @asynccontextmanager
    async def run(**env: str) -> AsyncIterator[ServerProcess]:
        data = tmp_path / "data"
        server = ServerProcess(data, server_env(data, DATABASE_URL=fresh_pg_dsn,
                                                NATS_URL=nats_url,
                                                SIGEC_SERVER__GRAPHQL_ENABLED="true",
                                                SIGEC_SERVER__GRPC_ENABLED="true", **env),
                               tmp_path / "server.log")
        await asyncio.to_thread(server.start)
        try:
            yield server
        finally:
            assert server.stop() == 0, server.log()
    return run


PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes.fromhex("000000040000000000")
"""The HTTP/2 client connection preface and an empty SETTINGS frame: a gRPC connection that
then sends nothing (no call)."""


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url if "//" in url else f"//{url}")  # the gRPC URL is host:port
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


async def _connect(url: str, source: str = "127.0.0.1"
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(*_address(url), local_addr=(source, 0))


async def _closed_by_server(reader: asyncio.StreamReader) -> bool:
    """True once the server closes (EOF or reset) without answering anything."""
    try:
        data = await asyncio.wait_for(reader.read(1024), GIVE_UP_S)
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return data == b""


async def _closed_after_anything(reader: asyncio.StreamReader) -> bool:
    """True once the server closes (EOF or reset), whatever it sent first (gRPC: its SETTINGS
    and a GOAWAY)."""
    try:
        async with asyncio.timeout(GIVE_UP_S):
            while await reader.read(1024):
                pass
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    return True


async def _grpc_serving(url: str) -> bool:
    async with grpc.aio.insecure_channel(url) as channel:
        try:
            reply = await health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=GIVE_UP_S)
        except grpc.aio.AioRpcError:
            return False
    return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)


async def _answers(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bytes:
    """What the server answers to a whole request (b"" when it dropped the connection)."""
    try:
        writer.write(b"GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await writer.drain()
        return await asyncio.wait_for(reader.read(1024), GIVE_UP_S)
    except (ConnectionResetError, BrokenPipeError):
        return b""


async def test_a_client_that_stops_sending_headers_is_disconnected(serve: Serve) -> None:
    async with serve(SIGEC_SERVER__HTTP_HEADER_TIMEOUT_S="0.5") as server:
        reader, writer = await _connect(server.http)
        writer.write(b"GET /health/live HTTP/1.1\r\nHo")  # half a header line, then nothing
        await writer.drain()
        assert await _closed_by_server(reader)
        writer.close()
        idle, idle_writer = await _connect(server.http)  # sends nothing at all
        assert await _closed_by_server(idle)
        idle_writer.close()
        reader, writer = await _connect(server.http)
        assert (await _answers(reader, writer)).startswith(b"HTTP/1.1 200")
        writer.close()


async def test_connections_are_bounded_per_client_address(serve: Serve) -> None:
    async with serve(SIGEC_SERVER__HTTP_MAX_CONNECTIONS_PER_IP="5",
                     SIGEC_SERVER__OCPP_MAX_CONNECTIONS_PER_IP="2") as server:
        held = [await _connect(server.http) for _ in range(5)]
        sixth, sixth_writer = await _connect(server.http)
        assert await _answers(sixth, sixth_writer) == b""  # dropped unanswered
        sixth_writer.close()
        other = await _connect(server.http, source="127.0.0.2")  # another address: served
        assert (await _answers(*other)).startswith(b"HTTP/1.1 200")
        reader, writer = held.pop()
        assert (await _answers(reader, writer)).startswith(b"HTTP/1.1 200")  # then closed
        assert await _closed_by_server(reader)
        async with aiohttp.ClientSession() as http, http.get(  # a slot is free again
                server.http + "/health/live") as response:
            assert response.status == 200
        for _, w in held:
            w.close()

        stations = [await _connect(server.ocpp) for _ in range(2)]
        third, third_writer = await _connect(server.ocpp)
        assert await _answers(third, third_writer) == b""  # not even a handshake answer
        third_writer.close()
        reader, writer = await _connect(server.ocpp, source="127.0.0.2")
        assert (await _answers(reader, writer)).startswith(b"HTTP/1.1 ")  # not a WebSocket
        writer.close()
        for _, w in stations:
            w.close()


async def test_graphql_drops_a_client_that_stops_sending_headers(serve: Serve) -> None:
    async with serve(SIGEC_SERVER__HTTP_HEADER_TIMEOUT_S="0.5") as server:
        reader, writer = await _connect(server.runtime["graphqlUrl"])
        writer.write(b"POST /graphql HTTP/1.1\r\nHo")  # half a header line, then nothing
        await writer.drain()
        assert await _closed_by_server(reader)
        writer.close()


async def test_grpc_drops_silent_and_idle_connections(serve: Serve) -> None:
    async with serve(SIGEC_SERVER__HTTP_HEADER_TIMEOUT_S="0.5") as server:
        url = server.runtime["grpcUrl"]
        silent, silent_writer = await _connect(url)  # not even the HTTP/2 preface
        idle, idle_writer = await _connect(url)
        idle_writer.write(PREFACE)  # a connection, then no call
        await idle_writer.drain()
        assert await _closed_after_anything(silent)
        assert await _closed_after_anything(idle)
        for writer in (silent_writer, idle_writer):
            writer.close()
        assert await _grpc_serving(url)


async def test_grpc_connections_are_bounded(serve: Serve) -> None:
    # idle connections are kept for a minute here: only the cap can close the fourth one
    async with serve(SIGEC_SERVER__HTTP_MAX_CONNECTIONS="3",
                     SIGEC_SERVER__HTTP_HEADER_TIMEOUT_S="60") as server:
        url = server.runtime["grpcUrl"]
        held = [await _connect(url) for _ in range(3)]
        for _, writer in held:
            writer.write(PREFACE)
            await writer.drain()
        over, over_writer = await _connect(url)
        over_writer.write(PREFACE)
        await over_writer.drain()
        assert await _closed_after_anything(over)  # the fourth is closed at once
        over_writer.close()
        for _, writer in held:
            writer.close()
            await writer.wait_closed()
        assert await _grpc_serving(url)  # a slot is free again


def test_loopback_aliases_are_usable() -> None:
    """The tests above connect from 127.0.0.2 (Linux routes all of 127/8 to loopback)."""
    with socket.socket() as s:
        s.bind(("127.0.0.2", 0))
