"""Bodies and queries of the OCPP block routes (local list, display, data transfer, meters)."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from api.schemas.base import Body, Out
from sigec_actors.ocpp.generated import v201
from sigec_actors.ocpp_blocks.local_list import MAX_DB_TOKENS
from sigec_actors.ocpp_blocks.records import MeterSample

PositiveId = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class LocalListBody(Body, frozen=True, kw_only=True):
    """`tokens` absent: the list is built from the database's id tokens; [] with Full: empty it."""

    update_type: v201.UpdateEnum = v201.UpdateEnum.FULL
    tokens: Annotated[tuple[v201.AuthorizationData, ...],
                      msgspec.Meta(max_length=MAX_DB_TOKENS)] | None = None


class DisplayMessageBody(Body, frozen=True, kw_only=True):
    """A MessageInfo; `id` absent: one is chosen."""

    id: PositiveId | None = None
    priority: v201.MessagePriorityEnum = v201.MessagePriorityEnum.NORMAL_CYCLE
    message: v201.MessageContent
    state: v201.MessageStateEnum | None = None
    start_date_time: v201.DateTime | None = None
    end_date_time: v201.DateTime | None = None
    transaction_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)] | None = None
    display: v201.Component | None = None


class DisplayQuery(Body, frozen=True, kw_only=True):
    """`cached`: answer what is stored without asking the station; `waitS`: how long to wait
    for its NotifyDisplayMessages report."""

    cached: bool = False
    wait_s: Annotated[float, msgspec.Meta(ge=0, le=30)] = 5.0


class DataTransferBody(Body, frozen=True, kw_only=True):
    vendor_id: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    message_id: Annotated[str, msgspec.Meta(min_length=1, max_length=50)] | None = None
    data: Any = None


class NetworkProfileBody(Body, frozen=True, kw_only=True):
    configuration_slot: Annotated[int, msgspec.Meta(ge=0, le=2**31 - 1)]
    connection_data: v201.NetworkConnectionProfile


class MeterValuesQuery(Body, frozen=True, kw_only=True):
    """Samples in [from, to) (default: the day before `to`, which defaults to now)."""

    since: v201.DateTime | None = msgspec.field(default=None, name="from")
    until: v201.DateTime | None = msgspec.field(default=None, name="to")
    measurand: v201.MeasurandEnum | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 1000


class MeterValuesOut(Out, frozen=True, kw_only=True):
    items: list[MeterSample]
