"""What the OCPP blocks store: local-list versions, display messages, meter samples."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import msgspec


class LocalList(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                  omit_defaults=True):
    """The local authorization list a station accepted last (D01/D02), as we sent it."""

    version: int
    size: int
    update_type: str | None = None
    entries: tuple[tuple[str, str], ...] = ()
    """(idToken, type) of every entry the station holds, as far as we know."""
    updated_at: datetime | None = None


class ListToken(msgspec.Struct, frozen=True):
    """One id token of the database, as a local-list entry is built from it."""

    id_token: str
    type: str
    status: str
    expires_at: datetime | None = None


class MeterSample(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                  omit_defaults=True):
    """One sampled value of a MeterValues request (sent outside a transaction)."""

    evse_id: int
    sampled_at: datetime
    measurand: str
    value: float
    phase: str | None = None
    location: str | None = None
    context: str | None = None
    unit: str | None = None
    multiplier: int | None = None


class DisplayMessage(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                  omit_defaults=True):
    """A display message we set (`set`) or the station reported (`reported`)."""

    id: int
    source: str
    message: dict[str, Any]
    """MessageInfo as OCPP sends it (camelCase)."""
    request_id: int | None = None
    updated_at: datetime | None = None


class DisplayQuery(msgspec.Struct, frozen=True, kw_only=True, rename="camel",
                  omit_defaults=True):
    """One GetDisplayMessages sent: its answer and the NotifyDisplayMessages parts seen."""

    request_id: int
    status: str
    parts: int = 0
    complete: bool = False
