"""Connection limits of the listeners: per client address and in total, and the fd budget."""

from __future__ import annotations

import asyncio
import ipaddress
import resource
from collections.abc import Callable
from typing import cast

import structlog
from aiohttp import web

log = structlog.get_logger("http.guard")

HTTP_FD_SHARE = 4
"""The REST listener may hold at most 1/HTTP_FD_SHARE of the process's file descriptors; the
rest stay for stations, the database, NATS and the cluster."""
MIN_HTTP_CONNECTIONS = 16


def client_key(host: str) -> str:
    """What a per-address limit counts by: the IPv4 address (IPv4-mapped IPv6 included), an
    IPv6 address's /64 (one subscriber usually holds a whole /64), else the text as given."""
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


class ConnectionGuard:
    """Counts open connections per client key and in total; `admit` says whether one more may
    open (0 = no limit). Pure: the listener calls `admit` on accept and `release` on close."""

    def __init__(self, max_total: int = 0, max_per_ip: int = 0) -> None:
        self.max_total = max_total
        self.max_per_ip = max_per_ip
        self.total = 0
        self.refused = 0
        self._per_key: dict[str, int] = {}

    def admit(self, key: str) -> bool:
        held = self._per_key.get(key, 0)
        if (self.max_total and self.total >= self.max_total) or (
                self.max_per_ip and held >= self.max_per_ip):
            self.refused += 1
            return False
        self._per_key[key] = held + 1
        self.total += 1
        return True

    def release(self, key: str) -> None:
        held = self._per_key.get(key, 0)
        if held <= 1:
            self._per_key.pop(key, None)
        else:
            self._per_key[key] = held - 1
        self.total = max(self.total - 1, 0)

    def held(self, key: str) -> int:
        return self._per_key.get(key, 0)


def http_connection_cap(configured: int, fd_limit: int) -> int:
    """The REST connection cap: the configured one (0 = none) within the fd budget."""
    budget = max(fd_limit // HTTP_FD_SHARE, MIN_HTTP_CONNECTIONS)
    return min(configured, budget) if configured else budget


def raise_fd_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit (as far as allowed); return the soft one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
            soft = want
        except (ValueError, OSError) as exc:
            log.warning("fd_limit_not_raised", soft=soft, hard=hard, error=str(exc))
    return soft if soft != resource.RLIM_INFINITY else 1 << 20


def peer_host(transport: asyncio.BaseTransport) -> str:
    peer = transport.get_extra_info("peername")
    return str(peer[0]) if isinstance(peer, tuple) and peer else ""


class _Gate(asyncio.Protocol):
    """Admits or drops a new connection before aiohttp sees it, then passes everything on to
    the aiohttp protocol it creates (one Python call per received chunk)."""

    __slots__ = ("_factory", "_guard", "_inner", "_key")

    def __init__(self, guard: ConnectionGuard, factory: Callable[[], asyncio.Protocol]) -> None:
        self._guard = guard
        self._factory = factory
        self._inner: asyncio.Protocol | None = None
        self._key: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        key = client_key(peer_host(transport))
        if not self._guard.admit(key):
            log.debug("http_connection_refused", client=key, open=self._guard.total)
            cast(asyncio.Transport, transport).abort()
            return
        self._key, self._inner = key, self._factory()
        self._inner.connection_made(transport)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._key is not None:
            self._guard.release(self._key)
            self._key = None
        if self._inner is not None:
            self._inner.connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._inner is not None:
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received() if self._inner is not None else None

    def pause_writing(self) -> None:
        if self._inner is not None:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if self._inner is not None:
            self._inner.resume_writing()


class GuardedSite(web.TCPSite):
    """A TCPSite (SO_REUSEPORT) whose connections pass `guard` first."""

    __slots__ = ("_guard",)

    def __init__(self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard,
                 backlog: int = 512) -> None:
        super().__init__(runner, host, port, backlog=backlog, reuse_port=True)
        self._guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server, guard = self._runner.server, self._guard
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _Gate(guard, server), self._host, self._port, backlog=self._backlog,
            reuse_port=True)
        self._bound_port = int(self._server.sockets[0].getsockname()[1])
