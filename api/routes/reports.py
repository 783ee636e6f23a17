"""Operator reports: request one (a background job actor), follow it, download its file."""

from __future__ import annotations

from uuid import UUID

import structlog
from aiohttp import web

from api.errors import InvalidInput, NotFound
from api.routing import Call, Resource, json_response
from api.schemas.base import PageQuery
from api.schemas.reports import ReportAccepted, ReportIn, ReportOut, ReportPage
from api.security import authenticate
from api.services import need
from sigec_actors.domain.records import AuditEntry, Role
from sigec_actors.reports.model import InvalidReport, ReportStatus
from sigec_actors.reports.ports import Reports
from sigec_actors.reports.wiring import EXTRAS_KEY

resource = Resource("reports", authenticate)
routes = resource.table
log = structlog.get_logger("api.reports")
BASE = "/api/v1/admin/reports"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}


def _reports(call: Call) -> Reports:
    found: Reports | None = call.ctx.extras.get(EXTRAS_KEY)
    return need(found, "reports")


def _id(call: Call) -> UUID:
    raw = call.path("id")
    try:
        return UUID(raw)
    except ValueError:
        raise NotFound("report", raw) from None


@resource.post(BASE, "Request a report (energy, revenue, v2g, transactions, uptime) as CSV or "
               "PDF; it runs in the background", role=Role.OPERATOR, body=ReportIn,
               response=ReportAccepted, status=202, errors=(422,))
async def request_report(call: Call) -> web.Response:
    body = call.body(ReportIn)
    by = call.caller.sub
    try:
        report_id = await _reports(call).request(body.spec(), UUID(by))
    except InvalidReport as exc:
        raise InvalidInput(exc.field, exc.problem) from None
    audit = call.ctx.audit
    if audit is not None:
        await audit.record(AuditEntry("user", "report.request", by, "report", str(report_id),
                                      details={"kind": body.kind.value,
                                               "groupBy": body.group_by.value,
                                               "format": body.format.value},
                                      ip=call.request.remote))
    log.info("report_requested", report=str(report_id), kind=body.kind.value, by=by)
    return json_response(ReportAccepted(report_id=report_id, status=ReportStatus.QUEUED,
                                        status_url=f"{BASE}/{report_id}"), status=202)


@resource.get(BASE, "Reports, newest first (any operator's), without their rows",
              role=Role.OPERATOR, query=PageQuery, response=ReportPage)
async def list_reports(call: Call) -> web.Response:
    q = call.query(PageQuery)
    items, total = await _reports(call).page(q.limit, q.offset)
    return json_response(ReportPage(items=[ReportOut.of(i, BASE) for i in items], total=total,
                                    limit=q.limit, offset=q.offset))


@resource.get(BASE + "/{id}", "A report's status and progress; its rows and download URL once "
              "done", role=Role.OPERATOR, response=ReportOut, errors=(404,), path_types=UUID_PATH)
async def get_report(call: Call) -> web.Response:
    report_id = _id(call)
    info = await _reports(call).get(report_id)
    if info is None:
        raise NotFound("report", str(report_id))
    return json_response(ReportOut.of(info, BASE))


@resource.get(BASE + "/{id}/download", "The finished report's file (text/csv or "
              "application/pdf); 404 until it is done", role=Role.OPERATOR, errors=(404,),
              path_types=UUID_PATH, content_type="application/octet-stream")
async def download_report(call: Call) -> web.Response:
    report_id = _id(call)
    found = await _reports(call).file(report_id)
    if found is None:
        raise NotFound("report file", str(report_id))
    return web.Response(body=found.content, headers={
        "Content-Type": found.content_type,
        "Content-Disposition": f'attachment; filename="{found.filename}"',
        "Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})
