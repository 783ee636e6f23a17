"""Operator alerts: list them, acknowledge one, resolve one (both audited)."""

from __future__ import annotations

from uuid import UUID

import structlog
from aiohttp import web

from api.errors import Conflict, NotFound
from api.routing import Call, Resource, json_response
from api.schemas.alerts import AlertOut, AlertPageOut, AlertQuery
from api.security import authenticate
from api.services import need
from sigec_actors.alerts.model import Alert, AlertResolved, UnknownAlert
from sigec_actors.domain.records import AuditEntry, Role

resource = Resource("alerts", authenticate)
routes = resource.table
log = structlog.get_logger("api.alerts")
BASE = "/api/v1/admin/alerts"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}


@resource.get(BASE, "Operator alerts, newest first (filters: status, severity, kind, station)",
              role=Role.OPERATOR, query=AlertQuery, response=AlertPageOut, errors=(422,))
async def list_alerts(call: Call) -> web.Response:
    q = call.query(AlertQuery)
    page = await need(call.ctx.alerts, "alerts").page(q.where(), q.limit, q.offset)
    return json_response(AlertPageOut(items=[AlertOut.of(a) for a in page.items],
                                      total=page.total, limit=q.limit, offset=q.offset))


@resource.post(BASE + "/{id}/acknowledge", "Acknowledge an alert: someone is on it (audited)",
               role=Role.OPERATOR, response=AlertOut, errors=(404, 409), path_types=UUID_PATH)
async def acknowledge(call: Call) -> web.Response:
    return await _close(call, "acknowledge")


@resource.post(BASE + "/{id}/resolve", "Resolve an alert; its cause may alert again (audited)",
               role=Role.OPERATOR, response=AlertOut, errors=(404, 409), path_types=UUID_PATH)
async def resolve(call: Call) -> web.Response:
    return await _close(call, "resolve")


async def _close(call: Call, action: str) -> web.Response:
    raw = call.path("id")
    alerts = need(call.ctx.alerts, "alerts")
    audit = need(call.ctx.audit, "audit log")
    by = call.caller.sub
    try:
        alert_id = UUID(raw)
    except ValueError:
        raise NotFound("alert", raw) from None
    try:
        alert: Alert = await (alerts.acknowledge(alert_id, UUID(by)) if action == "acknowledge"
                              else alerts.resolve(alert_id))
    except UnknownAlert:
        raise NotFound("alert", raw) from None
    except AlertResolved:
        raise Conflict("alert", raw, "is already resolved") from None
    await audit.record(AuditEntry("user", f"alert.{action}", by, "alert", str(alert_id),
                                  details={"kind": alert.kind,
                                           "chargePointId": alert.charge_point_id},
                                  ip=call.request.remote))
    log.info("alert_operator_action", action=action, alert_id=str(alert_id), by=by)
    return json_response(AlertOut.of(alert))
