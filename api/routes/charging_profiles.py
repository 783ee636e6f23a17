"""Charging profiles (operator): set and clear them as stored, list them, ask the station."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

import msgspec
from aiohttp import web

from api.errors import InvalidInput, NotConfigured, NotFound
from api.routing import Call, Resource, json_response
from api.schemas import commands as b
from api.schemas.base import Body, Out
from api.security import authenticate
from api.services import services_of
from sigec_actors.domain.records import Role
from sigec_actors.ocpp.generated import v201
from sigec_actors.smart_charging.profiles import ProfileInvalid, StationLimits, validate
from sigec_actors.smart_charging.store import ProfileCriteria, StoredProfile

resource = Resource("charging-profiles", authenticate)
routes = resource.table
EXTRAS_KEY = "smart_charging"  # sigec_actors.smart_charging.wiring.EXTRAS_KEY
ERRORS = (404, 409, 422, 502, 503, 504)
BASE = "/api/v1/devices/{id}"


@runtime_checkable
class ProfileStore(Protocol):
    """smart_charging.store.PgSmartCharging."""

    async def station_limits(self, station_id: str) -> StationLimits: ...
    async def save_profile(self, station_id: str, evse_id: int, profile: v201.ChargingProfile,
                           source: str, status: str = "Accepted") -> None: ...
    async def profiles(self, station_id: str) -> list[StoredProfile]: ...
    async def clear(self, station_id: str, profile_id: int | None,
                    criteria: ProfileCriteria | None) -> int: ...


class ProfileOut(Out, frozen=True, kw_only=True):
    """A stored profile: `source` api | site | ev | station, `status` the station's word
    (Reported: only known from its ReportChargingProfiles), `reportedAt` when it last did."""

    evse_id: int
    profile_id: int
    purpose: str
    stack_level: int
    kind: str
    transaction_id: str | None
    valid_from: datetime | None
    valid_to: datetime | None
    source: str
    status: str
    limit_source: str | None
    reported_at: datetime | None
    updated_at: datetime
    charging_profile: dict[str, Any]


class ProfilesOut(Out, frozen=True, kw_only=True):
    items: list[ProfileOut]


class ProfilesReportBody(Body, frozen=True, kw_only=True):
    """GetChargingProfiles criteria; the station answers with ReportChargingProfiles."""

    evse_id: b.EvseId | None = None
    purpose: v201.ChargingProfilePurposeEnum | None = None
    stack_level: Annotated[int, msgspec.Meta(ge=0, le=1000)] | None = None
    source: v201.ChargingLimitSourceEnum | None = None


class CompositeQuery(Body, frozen=True, kw_only=True):
    evse_id: b.EvseId = 0
    duration_s: Annotated[int, msgspec.Meta(ge=1, le=7 * 86400)] = 3600
    unit: Literal["W", "A"] | None = None


def _store(call: Call) -> ProfileStore:
    port = call.ctx.extras.get(EXTRAS_KEY)
    store = getattr(port, "store", None)
    if not isinstance(store, ProfileStore):
        raise NotConfigured("smart charging")
    return store


@resource.post(f"{BASE}/charging-profile", "SetChargingProfile, stored when accepted",
               role=Role.OPERATOR, body=b.ChargingProfileBody,
               response=v201.SetChargingProfileResponse, errors=ERRORS)
async def set_charging_profile(call: Call) -> web.Response:
    body = call.body(b.ChargingProfileBody)
    station_id = call.path("id")
    store = _store(call)
    try:
        validate(body.evse_id, body.charging_profile, await store.station_limits(station_id))
    except ProfileInvalid as exc:
        raise InvalidInput(exc.field, exc.problem) from None
    answer = await services_of(call.request).commands.send(
        station_id, v201.SetChargingProfileRequest(evse_id=body.evse_id,
                                                   charging_profile=body.charging_profile))
    assert isinstance(answer, v201.SetChargingProfileResponse)
    if answer.status is v201.ChargingProfileStatusEnum.ACCEPTED:
        await store.save_profile(station_id, body.evse_id, body.charging_profile, "api")
    return json_response(answer)


@resource.delete(f"{BASE}/charging-profile", "ClearChargingProfile (by id or criteria), "
                 "the store kept in step", role=Role.OPERATOR, query=b.ClearProfileQuery,
                 response=v201.ClearChargingProfileResponse, errors=ERRORS)
async def clear_charging_profile(call: Call) -> web.Response:
    query = call.query(b.ClearProfileQuery)
    station_id = call.path("id")
    store = _store(call)
    services = services_of(call.request)
    answer = await services.commands.send(station_id, services.commands.clear_profile(query))
    assert isinstance(answer, v201.ClearChargingProfileResponse)
    # Accepted: cleared there; Unknown: the station has none of them, so neither do we
    criteria = None if query.charging_profile_id is not None else ProfileCriteria(
        evse_id=query.evse_id, purpose=query.purpose.value if query.purpose else None,
        stack_level=query.stack_level)
    await store.clear(station_id, query.charging_profile_id, criteria)
    return json_response(answer)


@resource.get(f"{BASE}/charging-profiles", "The station's profiles as stored (ours and "
              "those it reported)", role=Role.OPERATOR, response=ProfilesOut,
              errors=(404, 503))
async def list_charging_profiles(call: Call) -> web.Response:
    station_id = call.path("id")
    stations = call.ctx.stations
    if stations is None:
        raise NotConfigured("stations")
    if await stations.get(station_id) is None:
        raise NotFound("station", station_id)
    rows = await _store(call).profiles(station_id)
    return json_response(ProfilesOut(items=[ProfileOut(
        evse_id=r.evse_id, profile_id=r.profile_id, purpose=r.purpose,
        stack_level=r.stack_level, kind=r.kind, transaction_id=r.transaction_id,
        valid_from=r.valid_from, valid_to=r.valid_to, source=r.source, status=r.status,
        limit_source=r.limit_source, reported_at=r.reported_at, updated_at=r.updated_at,
        charging_profile=r.profile) for r in rows]))


@resource.post(f"{BASE}/charging-profiles/report", "GetChargingProfiles: the station "
               "reports them (ReportChargingProfiles) into the store", role=Role.OPERATOR,
               body=ProfilesReportBody, body_required=False,
               response=v201.GetChargingProfilesResponse, errors=ERRORS)
async def report_charging_profiles(call: Call) -> web.Response:
    body = call.body(ProfilesReportBody)
    criterion = v201.ChargingProfileCriterion(
        charging_profile_purpose=body.purpose, stack_level=body.stack_level,
        charging_limit_source=(body.source,) if body.source else None)
    request = v201.GetChargingProfilesRequest(
        request_id=secrets.randbelow(2**31 - 2) + 1, evse_id=body.evse_id,
        charging_profile=criterion)
    answer = await services_of(call.request).commands.send(call.path("id"), request)
    return json_response(answer)


@resource.get(f"{BASE}/composite-schedule", "GetCompositeSchedule of an EVSE (0: the "
              "station)", role=Role.OPERATOR, query=CompositeQuery,
              response=v201.GetCompositeScheduleResponse, errors=ERRORS)
async def composite_schedule(call: Call) -> web.Response:
    query = call.query(CompositeQuery)
    request = v201.GetCompositeScheduleRequest(
        duration=query.duration_s, evse_id=query.evse_id,
        charging_rate_unit=v201.ChargingRateUnitEnum(query.unit) if query.unit else None)
    answer = await services_of(call.request).commands.send(call.path("id"), request)
    return json_response(answer)
