"""Bodies of the remote-command routes; answers are the station's own OCPP responses."""

from __future__ import annotations

from typing import Annotated

import msgspec

from api.schemas.base import Body
from sigec_actors.ocpp.generated import v201

EvseId = Annotated[int, msgspec.Meta(ge=0, le=1000)]
PositiveId = Annotated[int, msgspec.Meta(ge=1, le=2**31 - 1)]


class RemoteStartBody(Body, frozen=True, kw_only=True):
    id_token: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]
    id_token_type: v201.IdTokenEnum = v201.IdTokenEnum.CENTRAL
    evse_id: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    remote_start_id: PositiveId | None = None
    charging_profile: v201.ChargingProfile | None = None


class RemoteStopBody(Body, frozen=True, kw_only=True):
    transaction_id: Annotated[str, msgspec.Meta(min_length=1, max_length=36)]


class ResetBody(Body, frozen=True, kw_only=True):
    type: v201.ResetEnum = v201.ResetEnum.ON_IDLE
    evse_id: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None


class TriggerBody(Body, frozen=True, kw_only=True):
    evse_id: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    connector_id: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None


class UnlockBody(Body, frozen=True, kw_only=True):
    evse_id: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 1


class AvailabilityBody(Body, frozen=True, kw_only=True):
    operational_status: v201.OperationalStatusEnum
    evse_id: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None
    connector_id: Annotated[int, msgspec.Meta(ge=1, le=1000)] | None = None


class ChargingProfileBody(Body, frozen=True, kw_only=True):
    evse_id: EvseId
    charging_profile: v201.ChargingProfile


class ClearProfileQuery(Body, frozen=True, kw_only=True):
    charging_profile_id: PositiveId | None = None
    evse_id: EvseId | None = None
    purpose: v201.ChargingProfilePurposeEnum | None = None
    stack_level: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None

