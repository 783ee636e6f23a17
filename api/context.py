"""What the HTTP layer may reach: the node's ports, handed in by bootstrap."""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from api.ports import ActorsView, LiveStations, StationCommander
from sigec_actors.alerts.ports import Alerts
from sigec_actors.config import Settings
from sigec_actors.ports import (
    AuditLog,
    Cache,
    RefreshTokenRepository,
    StationRepository,
    UserRepository,
)
from sigec_actors.readiness_types import Check as ReadinessCheck
from sigec_actors.services.metrics import Metrics
from sigec_actors.services.passwords import Passwords


def utcnow() -> datetime:
    return datetime.now(UTC)


def request_id_counter() -> Callable[[], int]:
    """OCPP request ids (remoteStartId, requestId): a counter from a random start per node."""
    return itertools.count(secrets.randbelow(2**30) + 1).__next__


@dataclass
class AppContext:
    """Dependencies of the REST handlers; bootstrap fills it, tests build their own.

    A route whose port is None answers 503 (NotConfigured) instead of failing at start-up,
    so a node can serve health probes before everything is wired.
    """

    settings: Settings
    readiness: dict[str, ReadinessCheck] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)
    users: UserRepository | None = None
    stations: StationRepository | None = None
    refresh_tokens: RefreshTokenRepository | None = None
    audit: AuditLog | None = None
    cache: Cache | None = None
    passwords: Passwords | None = None
    jwt_secret: str = ""  # bootstrap.jwt_secret(settings); at least 32 characters
    clock: Callable[[], datetime] = utcnow
    commander: StationCommander | None = None
    live: LiveStations | None = None
    actors: ActorsView | None = None
    alerts: Alerts | None = None
    metrics: Metrics = field(default_factory=Metrics)
    request_ids: Callable[[], int] = field(default_factory=request_id_counter)


CTX = web.AppKey("ctx", AppContext)


def ctx_of(request: web.Request) -> AppContext:
    """The AppContext of the app serving `request`."""
    return request.app[CTX]
