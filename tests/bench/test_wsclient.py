"""The lean WebSocket client against a real websockets server: handshake, echo, ping, refusal."""

from __future__ import annotations

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from bench.load.wsclient import Closed, HandshakeError, open_ws


async def _echo(ws: ServerConnection) -> None:
    async for message in ws:
        await ws.ping()
        await ws.send(message)


def _refuse(ws: ServerConnection, request: Request) -> Response | None:
    if request.path.endswith("/nobody"):
        return ws.respond(404, "unknown station\n")
    return None


async def test_echo_over_text_frames() -> None:
    async with serve(_echo, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                     process_request=_refuse) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        client = await open_ws("127.0.0.1", port, "/ocpp/CP1", "ocpp2.0.1", {})
        big = b'[2,"1","DataTransfer",{"data":"' + b"x" * 70_000 + b'"}]'
        for payload in (b'[2,"1","Heartbeat",{}]', big):
            client.send_text(payload)
            assert await client.recv() == payload
        client.abort()
        with pytest.raises(Closed):
            await client.recv()


async def test_refused_upgrade_reports_the_status() -> None:
    async with serve(_echo, "127.0.0.1", 0, subprotocols=["ocpp2.0.1"],  # type: ignore[list-item]
                     process_request=_refuse) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        with pytest.raises(HandshakeError) as err:
            await open_ws("127.0.0.1", port, "/ocpp/nobody", "ocpp2.0.1", {})
        assert err.value.status == 404


def test_headers_type_is_importable() -> None:
    assert Headers  # the server side of these tests uses websockets' own types
