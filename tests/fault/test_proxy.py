"""The fault proxy itself: pass, latency keeps order, blackhole holds then delivers, reset RSTs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.fault.proxy import FaultProxy


@pytest.fixture
async def echo() -> AsyncIterator[int]:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(1024):
            writer.write(data)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield int(server.sockets[0].getsockname()[1])
    server.close()


async def _client(proxy: FaultProxy) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", proxy.port)


async def test_modes(echo: int) -> None:
    proxy = FaultProxy("127.0.0.1", echo)
    await proxy.start()
    try:
        reader, writer = await _client(proxy)
        writer.write(b"a")
        assert await asyncio.wait_for(reader.readexactly(1), 5) == b"a"
        proxy.set_mode("latency", 50)
        writer.write(b"b")
        await asyncio.sleep(0.01)
        writer.write(b"c")
        assert await asyncio.wait_for(reader.readexactly(2), 5) == b"bc"
        proxy.set_mode("blackhole")
        writer.write(b"d")
        late, _ = await asyncio.open_connection("127.0.0.1", proxy.port)  # accepted, held
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(reader.readexactly(1), 0.3)
        proxy.set_mode("pass")
        assert await asyncio.wait_for(reader.readexactly(1), 5) == b"d"
        proxy.set_mode("reset")
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(reader.readexactly(1), 5)
        r2, _ = await _client(proxy)
        with pytest.raises((ConnectionResetError, asyncio.IncompleteReadError)):
            await asyncio.wait_for(r2.readexactly(1), 5)
        assert [i.mode for i in proxy.injections] == ["latency", "blackhole", "pass", "reset"]
        del late
    finally:
        await proxy.stop()
