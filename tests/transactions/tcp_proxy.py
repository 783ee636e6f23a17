"""A tiny asyncio TCP proxy for fault tests: forward, refuse (down), or blackhole."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qs, urlsplit, urlunsplit


def proxied_dsn(dsn: str, proxy_port: int) -> tuple[str, tuple[str, int]]:
    """(the DSN through 127.0.0.1:proxy_port, the real (host, port)) for a PostgreSQL DSN."""
    parts = urlsplit(dsn)
    query = parse_qs(parts.query)
    host = query.pop("host", [parts.hostname or "127.0.0.1"])[0]
    port = int(query.pop("port", [str(parts.port or 5432)])[0])
    auth = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    rest = "&".join(f"{k}={v[0]}" for k, v in query.items())
    return urlunsplit((parts.scheme, f"{auth}127.0.0.1:{proxy_port}", parts.path, rest,
                       "")), (host, port)


class TcpProxy:
    """Listens on a free loopback port and forwards to (host, port) unless told otherwise."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.mode = "forward"  # forward | blackhole
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def down(self) -> None:
        """Stop listening (new connections are refused) and reset every live connection."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for w in list(self._writers):
            w.transport.abort()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.add(writer)
        if self.mode == "blackhole":
            await reader.read()  # accept, never answer
            return
        try:
            host, port = self.target
            if host.startswith("/"):  # a unix-socket server (embedded PostgreSQL)
                up_r, up_w = await asyncio.open_unix_connection(f"{host}/.s.PGSQL.{port}")
            else:
                up_r, up_w = await asyncio.open_connection(host, port)
        except OSError:
            writer.transport.abort()
            return
        self._writers.add(up_w)
        await asyncio.gather(_pipe(reader, up_w), _pipe(up_r, writer))

    async def close(self) -> None:
        await self.down()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    with contextlib.suppress(OSError):
        writer.close()
