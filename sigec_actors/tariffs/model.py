"""Pure tariff administration rules: scope of a row, window overlap, what a change does.

A session keeps the tariff row it was priced with (transactions.tariff_id) and billing picks
rows by the session's start time, so the prices of a row that may have priced a session are
never rewritten: a price change to a tariff in effect ends it now and opens a successor.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.errors import SigecError

PRICE_FIELDS = ("price_per_kwh_centavos", "per_minute_centavos", "idle_per_minute_centavos",
                "session_fee_centavos")


class Scope(StrEnum):
    NETWORK = "network"
    STATION = "station"
    CONNECTOR = "connector"


class TariffRow(msgspec.Struct, frozen=True, kw_only=True):
    """One stored tariff (a row of `tariffs`) with its administrative fields."""

    id: UUID
    name: str | None = None
    charge_point_id: str | None = None
    evse_id: int | None = None
    connector_id: int | None = None
    currency: str = "BRL"
    price_per_kwh_centavos: int = 0
    per_minute_centavos: int = 0
    idle_per_minute_centavos: int = 0
    session_fee_centavos: int = 0
    valid_from: datetime
    valid_to: datetime | None = None
    replaces_id: UUID | None = None
    deleted_at: datetime | None = None
    created_at: datetime | None = None

    @property
    def scope(self) -> Scope:
        if self.evse_id is not None:
            return Scope.CONNECTOR
        return Scope.STATION if self.charge_point_id is not None else Scope.NETWORK

    @property
    def target(self) -> tuple[str | None, int | None, int | None]:
        """What the tariff prices: overlapping windows are refused per target."""
        return (self.charge_point_id, self.evse_id, self.connector_id)


class TariffError(SigecError):
    """Base of the errors tariff administration raises on purpose."""


class UnknownTariff(TariffError):
    def __init__(self, tariff_id: UUID) -> None:
        self.tariff_id = tariff_id
        super().__init__(f"unknown tariff: {tariff_id}")


class TariffOverlap(TariffError):
    """Another live tariff of the same scope and target is valid at some of the same times."""

    def __init__(self, other: UUID) -> None:
        self.other = other
        super().__init__(f"overlaps tariff {other} of the same scope")


class TariffLocked(TariffError):
    """The change would rewrite what sessions were or may have been priced with."""

    def __init__(self, tariff_id: UUID, problem: str) -> None:
        self.tariff_id = tariff_id
        self.problem = problem
        super().__init__(f"tariff {tariff_id}: {problem}")


class BadTariff(TariffError):
    """An invalid tariff value; `field` names it (snake_case)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"tariff {field}: {problem}")


def check_scope(scope: Scope, charge_point_id: str | None, evse_id: int | None,
                connector_id: int | None) -> None:
    """The ids a scope needs and allows; BadTariff naming the first wrong one."""
    if scope is Scope.NETWORK:
        for name, value in (("charge_point_id", charge_point_id), ("evse_id", evse_id),
                            ("connector_id", connector_id)):
            if value is not None:
                raise BadTariff(name, "must be absent for a network tariff")
        return
    if charge_point_id is None:
        raise BadTariff("charge_point_id", f"is required for a {scope} tariff")
    if scope is Scope.STATION:
        for name, value in (("evse_id", evse_id), ("connector_id", connector_id)):
            if value is not None:
                raise BadTariff(name, "must be absent for a station tariff")
    elif evse_id is None:
        raise BadTariff("evse_id", "is required for a connector tariff")


def check_window(valid_from: datetime, valid_to: datetime | None) -> None:
    if valid_to is not None and valid_to <= valid_from:
        raise BadTariff("valid_to", "must be after validFrom")


def overlaps(a_from: datetime, a_to: datetime | None, b_from: datetime,
             b_to: datetime | None) -> bool:
    """Whether [a_from, a_to) and [b_from, b_to) share an instant (None: open-ended)."""
    return (b_to is None or a_from < b_to) and (a_to is None or b_from < a_to)


def first_overlap(row: TariffRow, others: Iterable[TariffRow]) -> TariffRow | None:
    """A live row of the same target (other than `row`) whose window overlaps `row`'s."""
    for other in others:
        if (other.id != row.id and other.deleted_at is None and other.target == row.target
                and overlaps(row.valid_from, row.valid_to, other.valid_from, other.valid_to)):
            return other
    return None


class Edit(msgspec.Struct, frozen=True, kw_only=True):
    """What a PATCH does: `update` the row in place, or end it at `now` (`update` holds the
    new valid_to) and insert `successor`."""

    update: dict[str, Any]
    successor: TariffRow | None = None


def plan_edit(row: TariffRow, changes: dict[str, Any], now: datetime, *, used: bool,
              new_id: UUID) -> Edit:
    """How to apply `changes` (snake_case fields) to `row` without repricing any session.

    A tariff not yet in effect and never used is edited in place. Once in effect (or used),
    its start stays, its end may move but not into the past, and new prices end it now and
    open a successor from now with the new prices; an ended tariff keeps its prices.
    """
    if row.deleted_at is not None:
        raise TariffLocked(row.id, "is deleted")
    if row.valid_from > now and not used:
        merged = msgspec.structs.replace(row, **changes)
        check_window(merged.valid_from, merged.valid_to)
        return Edit(update=changes)
    if "valid_from" in changes and changes["valid_from"] != row.valid_from:
        raise TariffLocked(row.id, "is in effect: its validFrom cannot change")
    valid_to = changes.get("valid_to", row.valid_to)
    if "valid_to" in changes and valid_to is not None and valid_to < now:
        raise TariffLocked(row.id, "validTo cannot move into the past")
    repriced = {k: v for k, v in changes.items()
                if k in PRICE_FIELDS and v != getattr(row, k)}
    if not repriced:
        check_window(row.valid_from, valid_to)
        return Edit(update={k: v for k, v in changes.items() if k != "valid_from"})
    if row.valid_to is not None and row.valid_to <= now:
        raise TariffLocked(row.id, "has ended: its prices are kept for the sessions it priced")
    if row.valid_from > now:  # priced a session dated ahead of our clock
        raise TariffLocked(row.id, "has priced a session: its prices are kept")
    check_window(now, valid_to)
    successor = msgspec.structs.replace(
        row, id=new_id, valid_from=now, valid_to=valid_to, replaces_id=row.id,
        name=changes.get("name", row.name), created_at=None, **repriced)
    return Edit(update={"valid_to": now}, successor=successor)


def plan_delete(row: TariffRow, now: datetime, *, used: bool) -> dict[str, Any] | None:
    """The row's new values on DELETE, or None when the row can simply go (never in effect,
    never used). A tariff in effect ends now; every deleted row stays for the history."""
    if row.deleted_at is not None:
        raise TariffLocked(row.id, "is already deleted")
    if row.valid_from > now and not used:
        return None
    ends: datetime | None = (row.valid_to if row.valid_to is not None and row.valid_to <= now
                             else now)
    if row.valid_from > now:  # used by a session dated ahead of our clock: keep its window
        ends = row.valid_to
    return {"valid_to": ends, "deleted_at": now}
