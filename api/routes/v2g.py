"""V2G discharge: capability, start/stop, sessions, preferences and stats (the caller's own)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from aiohttp import web

from api.errors import NotFound
from api.routing import Call, Resource, json_response
from api.schemas import v2g as s
from api.security import authenticate
from api.services import v2g as sessions
from api.services.v2g import v2g_of
from sigec_actors.domain.records import Role
from sigec_actors.v2g_session.queries import Capability, Preferences

resource = Resource("v2g", authenticate)
routes = resource.table
BASE = "/api/v1/v2g"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}
PERIODS = {"day": timedelta(days=1), "week": timedelta(days=7), "month": timedelta(days=30)}
START_ERRORS = (403, 404, 409, 502, 503, 504)


def capability_out(cap: Capability) -> s.CapabilityOut:
    supported = cap.mode != "unsupported"
    return s.CapabilityOut(
        charge_point_id=cap.station_id, supported=supported, mode=cap.mode,
        max_discharge_w=cap.max_discharge_w,
        evses=[s.EvseCapabilityOut(evse_id=e.evse_id, supported=supported,
                                   current_soc=e.current_soc) for e in cap.evses])


@resource.get(BASE + "/capability/{id}", "Whether and how a station discharges",
              role=Role.USER, response=s.CapabilityOut, errors=(404, 503))
async def capability(call: Call) -> web.Response:
    station_id = call.path("id")
    cap = await v2g_of(call.ctx).queries.capability(station_id)
    if cap is None:
        raise NotFound("station", station_id)
    return json_response(capability_out(cap))


@resource.post(BASE + "/discharge/start", "Discharge the caller's car on its transaction's EVSE",
               role=Role.USER, body=s.DischargeStartBody, response=s.SessionEnvelope,
               status=201, errors=START_ERRORS)
async def start(call: Call) -> web.Response:
    session = await sessions.start(call.ctx, call.caller, call.body(s.DischargeStartBody))
    return json_response(s.SessionEnvelope(session=session), status=201)


@resource.post(BASE + "/discharge/stop", "Stop a discharge (clears the profile, settles it)",
               role=Role.USER, body=s.DischargeStopBody, response=s.SessionOut,
               errors=(404, 503))
async def stop(call: Call) -> web.Response:
    session_id = call.body(s.DischargeStopBody).session_id
    return json_response(await sessions.stop(call.ctx, call.caller, session_id))


@resource.get(BASE + "/session/{id}", "One discharge session (own; operators see all)",
              role=Role.USER, response=s.SessionOut, errors=(404, 422, 503),
              path_types=UUID_PATH)
async def session(call: Call) -> web.Response:
    return json_response(await sessions.visible(call.ctx, call.caller, session_id_of(call)))


def session_id_of(call: Call) -> UUID:
    """The session id in the path; one that is not a UUID names no session (404)."""
    try:
        return UUID(call.path("id"))
    except ValueError:
        raise NotFound("v2g session", call.path("id")) from None


@resource.get(BASE + "/session/active/{id}", "The live discharge on a station",
              role=Role.USER, response=s.SessionOut, errors=(404, 503))
async def active(call: Call) -> web.Response:
    return json_response(await sessions.live_on(call.ctx, call.caller, call.path("id")))


@resource.get(BASE + "/preferences", "The caller's discharge preferences", role=Role.USER,
              response=s.PreferencesOut, errors=(503,))
async def get_preferences(call: Call) -> web.Response:
    prefs = await v2g_of(call.ctx).queries.preferences(UUID(call.caller.sub))
    return json_response(_prefs_out(prefs))


@resource.post(BASE + "/preferences", "Set the caller's discharge preferences", role=Role.USER,
               body=s.PreferencesBody, response=s.PreferencesOut, errors=(503,))
async def set_preferences(call: Call) -> web.Response:
    b = call.body(s.PreferencesBody)
    floor = b.min_grid_price_centavos_per_kwh
    prefs = Preferences(
        auto_discharge=b.auto_discharge,
        min_grid_price_centavos_mwh=None if floor is None else floor * 1000,
        max_discharge_wh=b.max_discharge_wh, preserve_soc=b.preserve_soc,
        notify_on_start=b.notifications.on_start, notify_on_end=b.notifications.on_end)
    saved = await v2g_of(call.ctx).queries.set_preferences(UUID(call.caller.sub), prefs)
    return json_response(_prefs_out(saved))


@resource.get(BASE + "/stats", "The caller's completed discharges and earnings",
              role=Role.USER, query=s.StatsQuery, response=s.StatsOut, errors=(503,))
async def stats(call: Call) -> web.Response:
    period = call.query(s.StatsQuery).period
    since = None if period == "all" else call.ctx.clock() - PERIODS[period]
    days = await v2g_of(call.ctx).queries.stats(UUID(call.caller.sub), since)
    return json_response(s.StatsOut(
        period=period, sessions=sum(d.sessions for d in days),
        exported_wh=sum(d.exported_wh for d in days),
        earnings_centavos=sum(d.earnings_centavos for d in days),
        by_day=[s.DayOut(day=d.day, sessions=d.sessions, exported_wh=d.exported_wh,
                         earnings_centavos=d.earnings_centavos) for d in days]))


def _prefs_out(p: Preferences) -> s.PreferencesOut:
    floor = p.min_grid_price_centavos_mwh
    return s.PreferencesOut(
        auto_discharge=p.auto_discharge,
        min_grid_price_centavos_per_kwh=None if floor is None else floor // 1000,
        max_discharge_wh=p.max_discharge_wh, preserve_soc=p.preserve_soc,
        notifications=s.NotificationsOut(on_start=p.notify_on_start, on_end=p.notify_on_end))
