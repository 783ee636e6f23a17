"""Bodies and answers of the transaction routes (REST, GraphQL and gRPC share them)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec

from api.schemas.base import Body, Limit, Offset, Out
from sigec_actors.domain.transactions import TxStatus


class MoneyOut(Out, frozen=True, kw_only=True):
    """An amount of money: integer centavos (1/100 BRL) and the ISO 4217 currency."""

    amount_centavos: int
    currency: str = "BRL"


class MeterOut(Out, frozen=True, kw_only=True):
    """The latest sample of one measurand; `value` is the station's exact decimal, as text."""

    measurand: str
    value: str
    unit: str | None
    phase: str | None
    sampled_at: datetime


class TransactionOut(Out, frozen=True, kw_only=True):
    id: UUID
    station_transaction_id: str
    charge_point_id: str
    evse_id: int | None
    connector_id: int | None
    status: str
    incomplete: bool
    charging_state: str | None
    stopped_reason: str | None
    started_at: datetime | None
    ended_at: datetime | None
    energy_wh: int
    energy_export_wh: int
    cost: MoneyOut
    meter_values: list[MeterOut]


class TransactionPage(Out, frozen=True, kw_only=True):
    items: list[TransactionOut]
    total: int
    limit: int
    offset: int


class StartBody(Body, frozen=True, kw_only=True):
    charge_point_id: Annotated[str, msgspec.Meta(min_length=1, max_length=48)]
    evse_id: Annotated[int, msgspec.Meta(ge=1)] | None = None


class StartOut(Out, frozen=True, kw_only=True):
    """`accepted`: the station took the request (the session starts when it says Started)."""

    accepted: bool
    status: str
    remote_start_id: int
    station_transaction_id: str | None = None


class StopOut(Out, frozen=True, kw_only=True):
    accepted: bool
    status: str


class HistoryQuery(Body, frozen=True, kw_only=True):
    """Sessions that started in [from, to), newest first."""

    limit: Limit = 50
    offset: Offset = 0
    since: datetime | None = msgspec.field(default=None, name="from")
    until: datetime | None = msgspec.field(default=None, name="to")


class AdminQuery(HistoryQuery, frozen=True, kw_only=True):
    station_id: str | None = None
    user_id: UUID | None = None
    status: TxStatus | None = None
