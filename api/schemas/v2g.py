"""Bodies of the V2G discharge routes (sessions, capability, preferences, stats) and the wallet."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

import msgspec

from api.schemas.base import Body, Limit, Offset, Out

Soc = Annotated[int, msgspec.Meta(ge=0, le=100)]
Mode = Literal["v201_negative_limit", "ocpp21_setpoint", "unsupported"]
StationId = Annotated[str, msgspec.Meta(min_length=1, max_length=48)]


class DischargeStartBody(Body, frozen=True, kw_only=True):
    charge_point_id: StationId
    evse_id: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    min_soc: Soc
    max_energy_wh: Annotated[int, msgspec.Meta(ge=1, le=10**9)] | None = None
    until: Annotated[datetime, msgspec.Meta(tz=True)] | None = None
    """With a UTC offset, in the future (422 otherwise)."""


class DischargeStopBody(Body, frozen=True, kw_only=True):
    session_id: UUID


class CompensationOut(Out, frozen=True, kw_only=True):
    """`status`: pending (the session runs), calculated, paid or failed (a price gap)."""

    gross_centavos: int
    margin_centavos: int
    net_centavos: int
    status: str


class SessionOut(Out, frozen=True, kw_only=True):
    id: UUID
    charge_point_id: str
    evse_id: int | None
    transaction_id: str | None
    status: str
    started_at: datetime | None
    ended_at: datetime | None
    min_soc: int | None
    start_soc: int | None
    current_soc: int | None
    exported_wh: int
    power_w: int | None
    stop_reason: str | None
    compensation: CompensationOut


class SessionEnvelope(Out, frozen=True, kw_only=True):
    session: SessionOut


class EvseCapabilityOut(Out, frozen=True, kw_only=True):
    evse_id: int
    supported: bool
    current_soc: int | None


class CapabilityOut(Out, frozen=True, kw_only=True):
    charge_point_id: str
    supported: bool
    mode: str
    max_discharge_w: int | None
    evses: list[EvseCapabilityOut]


class V2GSettingBody(Body, frozen=True, kw_only=True):
    mode: Mode
    max_discharge_w: Annotated[int, msgspec.Meta(ge=1, le=10**7)] | None = None


class StationPatchBody(Body, frozen=True, kw_only=True):
    v2g: V2GSettingBody


class NotificationsBody(Body, frozen=True, kw_only=True):
    on_start: bool = True
    on_end: bool = True


class PreferencesBody(Body, frozen=True, kw_only=True):
    auto_discharge: bool = False
    min_grid_price_centavos_per_kwh: Annotated[int, msgspec.Meta(ge=0, le=10**6)] | None = None
    max_discharge_wh: Annotated[int, msgspec.Meta(ge=1, le=10**9)] | None = None
    preserve_soc: Soc = 20
    notifications: NotificationsBody = msgspec.field(default_factory=NotificationsBody)


class NotificationsOut(Out, frozen=True, kw_only=True):
    on_start: bool
    on_end: bool


class PreferencesOut(Out, frozen=True, kw_only=True):
    auto_discharge: bool
    min_grid_price_centavos_per_kwh: int | None
    max_discharge_wh: int | None
    preserve_soc: int
    notifications: NotificationsOut


class StatsQuery(Body, frozen=True, kw_only=True):
    period: Literal["day", "week", "month", "all"] = "month"


class DayOut(Out, frozen=True, kw_only=True):
    day: str
    sessions: int
    exported_wh: int
    earnings_centavos: int


class StatsOut(Out, frozen=True, kw_only=True):
    period: str
    sessions: int
    exported_wh: int
    earnings_centavos: int
    by_day: list[DayOut]


class WalletOut(Out, frozen=True, kw_only=True):
    """`pendingCentavos`: V2G payouts computed and not yet posted to the wallet."""

    balance_centavos: int
    currency: str
    pending_centavos: int


class WalletQuery(Body, frozen=True, kw_only=True):
    limit: Limit = 50
    offset: Offset = 0


class WalletLineOut(Out, frozen=True, kw_only=True):
    id: UUID
    kind: str
    amount_centavos: int
    balance_after_centavos: int
    created_at: datetime
    reference: str


class WalletPage(Out, frozen=True, kw_only=True):
    items: list[WalletLineOut]
    total: int


def session_out(row: dict[str, Any]) -> SessionOut:
    """A v2g_sessions row joined with its compensation (PgV2GQueries.session_row)."""
    status = {"Requested": "starting", "Cancelled": "failed"}.get(row["status"],
                                                                  str(row["status"]).lower())
    comp = CompensationOut(
        gross_centavos=row.get("gross_amount_centavos") or 0,
        margin_centavos=row.get("margin_centavos") or 0,
        net_centavos=row.get("net_amount_centavos") or 0,
        status=row.get("compensation_status") or "pending")
    return SessionOut(
        id=row["id"], charge_point_id=row["charge_point_id"], evse_id=row["evse_id"],
        transaction_id=row["station_transaction_id"], status=status,
        started_at=row["started_at"], ended_at=row["ended_at"],
        min_soc=row["min_battery_soc"], start_soc=row["start_soc"],
        current_soc=row["current_soc"], exported_wh=row["energy_transferred_wh"],
        power_w=row["actual_power_w"], stop_reason=row["stop_reason"], compensation=comp)
