"""V2G for operators: settle a discharge now (a compensation that failed on a price gap)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from aiohttp import web

from api.errors import NotConfigured, NotFound
from api.problems import Problem
from api.routes.v2g import session_id_of
from api.routing import Call, Resource, json_response
from api.schemas import v2g as s
from api.security import authenticate
from api.services import need
from sigec_actors.domain.records import AuditEntry, Role
from sigec_actors.v2g_session.errors import SessionNotCompleted, UnknownSession
from sigec_actors.v2g_session.ports import CompensationOutcome, SettleControl
from sigec_actors.v2g_session.reprice import EXTRAS_KEY

resource = Resource("v2g-admin", authenticate)
routes = resource.table
BASE = "/api/v1/admin/v2g"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}
ACTION = "v2g.settle"


def _settle_control(call: Call) -> SettleControl:
    port = call.ctx.extras.get(EXTRAS_KEY)
    if not isinstance(port, SettleControl):
        raise NotConfigured("v2g repricing")
    return port


@resource.post(BASE + "/sessions/{id}/settle",
               "Settle a completed discharge now: a compensation that failed on a price gap is "
               "computed again from the stored prices and paid once (409 naming the hours "
               "still without a price)",
               role=Role.ADMIN, response=s.SessionOut, errors=(404, 409, 503),
               path_types=UUID_PATH)
async def settle_session(call: Call) -> web.Response:
    session_id = session_id_of(call)
    control = _settle_control(call)
    try:
        outcome = await control.settle_now(session_id)
    except UnknownSession:
        raise NotFound("v2g session", str(session_id)) from None
    except SessionNotCompleted as exc:
        await _audit(call, session_id, {"result": "not_completed", "status": exc.status})
        raise Problem(409, "Conflict", str(exc), sessionId=str(session_id),
                      sessionStatus=exc.status) from None
    missing = [h.isoformat() for h in outcome.missing_hours]
    await _audit(call, session_id, _details(outcome, missing))
    if outcome.status == "failed":
        raise Problem(409, "Conflict", f"v2g session {session_id}: no grid price yet for "
                      f"{len(missing)} hour(s) with export", sessionId=str(session_id),
                      reason="price_gap", missingHours=missing)
    row = await control.session_row(session_id)
    if row is None:  # a completed session is never deleted
        raise NotFound("v2g session", str(session_id))
    return json_response(s.session_out(row))


def _details(outcome: CompensationOutcome, missing: list[str]) -> dict[str, Any]:
    details: dict[str, Any] = {"result": outcome.status, "netCentavos": outcome.net_centavos}
    if outcome.journal_entry_id is not None:
        details["journalEntryId"] = str(outcome.journal_entry_id)
    if missing:
        details["missingHours"] = missing
    return details


async def _audit(call: Call, session_id: UUID, details: dict[str, Any]) -> None:
    await need(call.ctx.audit, "audit log").record(AuditEntry(
        "user", ACTION, call.caller.sub, "v2g_session", str(session_id), details=details,
        ip=call.request.remote))
