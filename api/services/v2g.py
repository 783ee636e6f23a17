"""V2G discharges for one caller: what REST, GraphQL and gRPC share (ownership, start, stop)."""

from __future__ import annotations

from uuid import UUID

from api.commands import caller_of, request_ip
from api.context import AppContext
from api.errors import InvalidInput, NotConfigured, NotFound
from api.routing import Principal
from api.schemas import v2g as s
from api.services import need
from api.services.transactions import may_see
from sigec_actors.v2g_session.ports import V2GControl
from sigec_actors.v2g_session.service import StartRequest
from sigec_actors.v2g_session.wiring import EXTRAS_KEY


def v2g_of(ctx: AppContext) -> V2GControl:
    wiring = ctx.extras.get(EXTRAS_KEY)
    if not isinstance(wiring, V2GControl):
        raise NotConfigured("v2g sessions")
    return wiring


async def visible(ctx: AppContext, caller: Principal, session_id: UUID) -> s.SessionOut:
    """The session if the caller owns it (operators see all); else NotFound."""
    row = await v2g_of(ctx).queries.session_row(session_id)
    if row is None or not may_see(caller, row["user_id"]):
        raise NotFound("v2g session", str(session_id))
    return s.session_out(row)


async def view(ctx: AppContext, session_id: UUID) -> s.SessionOut:
    row = await v2g_of(ctx).queries.session_row(session_id)
    if row is None:
        raise NotFound("v2g session", str(session_id))
    return s.session_out(row)


async def live_on(ctx: AppContext, caller: Principal, station_id: str) -> s.SessionOut:
    """The live discharge on a station, if the caller may see it; else NotFound."""
    row = await v2g_of(ctx).queries.live_row(station_id)
    if row is None or not may_see(caller, row["user_id"]):
        raise NotFound("live v2g session on", station_id)
    return s.session_out(row)


async def start(ctx: AppContext, caller: Principal, body: s.DischargeStartBody) -> s.SessionOut:
    """Discharge the caller's car on its transaction's EVSE (the session service decides)."""
    if body.until is not None and body.until <= ctx.clock():
        raise InvalidInput("until", "must be in the future")  # else it would end at once
    service = v2g_of(ctx).service(need(ctx.commander, "station commander"))
    state = await service.start(StartRequest(
        user_id=UUID(caller.sub), station_id=body.charge_point_id, evse_id=body.evse_id,
        min_soc=body.min_soc, max_energy_wh=body.max_energy_wh, until=body.until,
        caller=caller_of(caller.sub, caller.role, request_ip())))
    return await view(ctx, state.session_id)


async def stop(ctx: AppContext, caller: Principal, session_id: UUID) -> s.SessionOut:
    """Stop a discharge the caller may see (clears the profile, settles it)."""
    await visible(ctx, caller, session_id)
    await v2g_of(ctx).service(need(ctx.commander, "station commander")).stop(
        session_id, caller=caller_of(caller.sub, caller.role, request_ip()))
    return await view(ctx, session_id)
