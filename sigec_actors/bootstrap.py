"""The one place that builds adapters: embedded services, pool, NATS, cache, migrations."""

from __future__ import annotations

import asyncio
import functools
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from nats.aio.client import Client as NatsClient

from sigec_actors.adapters.nats_bus import connect as connect_nats
from sigec_actors.adapters.nats_bus import url_has_credentials
from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.redis_cache import cache_from_url
from sigec_actors.config import Settings
from sigec_actors.dsn import redact
from sigec_actors.embedded import EmbeddedNats, EmbeddedPostgres
from sigec_actors.logs import step
from sigec_actors.ports import Cache, DbPool
from sigec_actors.private_files import kept_secret

log = structlog.get_logger("bootstrap")


@dataclass
class Services:
    """Connections to the data plane, plus the embedded servers we started (if any)."""

    settings: Settings
    database_url: str = ""
    nats_url: str = ""
    pool: DbPool | None = None
    nats: NatsClient | None = None
    embedded_pg: EmbeddedPostgres | None = None
    embedded_nats: EmbeddedNats | None = None
    cache: Cache | None = None
    closing: bool = False
    extras: dict[str, Any] = field(default_factory=dict)

    def require_pool(self) -> DbPool:
        """The pool; raises when the data plane is not started (a programming error)."""
        if self.pool is None:
            raise RuntimeError("database pool is not started")
        return self.pool

    def require_nats(self) -> NatsClient:
        """The NATS client; raises when the data plane is not started."""
        if self.nats is None:
            raise RuntimeError("NATS is not connected")
        return self.nats

    async def close(self) -> None:
        """Close connections, then stop embedded servers (reverse of start)."""
        self.closing = True
        if self.cache is not None:
            await self.cache.close()
        if self.nats is not None and not self.nats.is_closed:
            await self.nats.drain()
        if self.pool is not None:
            await self.pool.close()
        if self.embedded_nats is not None:
            await asyncio.to_thread(self.embedded_nats.stop)
        if self.embedded_pg is not None:
            await asyncio.to_thread(self.embedded_pg.stop)


async def start_data_plane(settings: Settings) -> Services:
    """Start embedded services where no URL is configured, then connect to everything."""
    services = Services(settings=settings)
    data_dir = settings.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        await _start_database(services, data_dir)
        await _start_nats(services, data_dir)
        services.cache = cache_from_url(settings.redis.url or None, services.require_pool())
    except BaseException:
        await services.close()
        raise
    return services


async def _start_database(services: Services, data_dir: Path) -> None:
    settings = services.settings
    url = settings.database.url
    if not url:
        with step(log, "embedded_postgres_started", data=str(data_dir / "pg")):
            services.embedded_pg = EmbeddedPostgres(data_dir / "pg")
            url = await asyncio.to_thread(services.embedded_pg.start)
    services.database_url = url
    with step(log, "database_connected"):
        services.pool = await create_pool(
            url, min_size=settings.database.pool_min, max_size=settings.database.pool_max,
            command_timeout=settings.database.command_timeout_s,
        )


async def _start_nats(services: Services, data_dir: Path) -> None:
    config = services.settings.nats
    url = config.url
    if not url:
        with step(log, "embedded_nats_started", data=str(data_dir / "nats")):
            services.embedded_nats = EmbeddedNats(data_dir / "nats")
            url = await asyncio.to_thread(services.embedded_nats.start)
    elif not (url_has_credentials(url) or config.creds_file or config.nkey_seed_file):
        log.warning("nats_without_credentials", url=redact(url),
                    risk="anyone who can reach this NATS server can command stations")
    services.nats_url = url  # may hold a password: log it only through dsn.redact
    with step(log, "nats_connected"):
        services.nats = await connect_nats(
            url, creds_file=config.creds_file, nkey_seed_file=config.nkey_seed_file,
            name=f"sigec-{os.getpid()}", max_reconnect_attempts=-1,
            reconnect_time_wait=1, connect_timeout=5,
            error_cb=_nats_error, disconnected_cb=functools.partial(_nats_disconnected, services),
            reconnected_cb=_nats_reconnected,
        )


async def _nats_error(exc: Exception) -> None:
    log.warning("nats_error", error=f"{type(exc).__name__}: {exc}")


async def _nats_disconnected(services: Services) -> None:
    if not services.closing:  # our own drain at shutdown is not news
        log.warning("nats_disconnected")


async def _nats_reconnected() -> None:
    log.info("nats_reconnected")


def jwt_secret(settings: Settings) -> str:
    """The configured JWT secret, or one generated once and kept (0600) under the data dir.

    Safe when several node processes start on a fresh data dir at once (`kept_secret`).
    """
    if settings.auth.jwt_secret:
        return settings.auth.jwt_secret
    return kept_secret(settings.data_dir / "jwt_secret", "auth.jwt_secret",
                       lambda: secrets.token_urlsafe(48))
