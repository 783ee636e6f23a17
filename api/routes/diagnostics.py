"""Diagnostics and monitoring (OCPP 2.0.1 block N): logs with SIGEC's own one-time upload URL,
variable monitoring, stored NotifyEvent events and customer information."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import BodyPartReader, web

from api.errors import InvalidInput, NotFound
from api.problems import Problem
from api.routes.device_model import (
    BASE,
    REQUEST_ID,
    SEND_ERRORS,
    part_out,
    ports_of,
    report_out,
    requested,
    service_of,
    station_of,
    stored_request,
)
from api.routing import Call, Resource, json_response
from api.schemas import device_model as b
from api.schemas.base import PageQuery
from api.security import authenticate
from api.services import services_of
from sigec_actors.device_model.model import RequestKind, complete
from sigec_actors.device_model.ports import LogRecord
from sigec_actors.device_model.service import token_hash
from sigec_actors.domain.records import Role
from sigec_actors.ocpp.generated import v201

resource = Resource("diagnostics", authenticate)
routes = resource.table
UPLOAD = "/api/v1/uploads/logs/{token}"
TOKEN = {"type": "string", "minLength": 1, "maxLength": 100}
CHUNK = 64 * 1024


def _log_out(station_id: str, record: LogRecord) -> b.LogOut:
    link = (f"/api/v1/devices/{station_id}/logs/{record.request_id}/file"
            if record.stored_name else None)
    return b.LogOut(
        request_id=record.request_id, log_type=record.log_type, status=record.status,
        filename=record.filename, requested_at=record.requested_at,
        expires_at=record.expires_at, uploaded_at=record.uploaded_at if link else None,
        size_bytes=record.size_bytes,
        history=[b.LogStatusOut(status=h.status, at=h.at) for h in record.history],
        download_url=link)


@resource.post(f"{BASE}/logs", "GetLog: the station uploads to a one-time URL served by SIGEC",
               role=Role.OPERATOR, body=b.LogBody, response=b.LogRequestedOut, status=202,
               errors=SEND_ERRORS)
async def request_log(call: Call) -> web.Response:
    station_id = await station_of(call)
    body = call.body(b.LogBody)
    ports = ports_of(call)
    base = ports.config.upload_base_url or str(call.request.url.origin())
    request_id, answer = await service_of(call).request_log(
        station_id, body.log_type, base, ports.config.log_upload_ttl_s,
        (body.oldest_timestamp, body.latest_timestamp), retries=body.retries,
        retry_interval=body.retry_interval)
    return json_response(b.LogRequestedOut(request_id=request_id, status=answer.status.value,
                                           filename=answer.filename), 202)


@resource.get(f"{BASE}/logs", "Log requests with their LogStatusNotification history",
              role=Role.OPERATOR, response=list[b.LogOut], errors=(404,))
async def list_logs(call: Call) -> web.Response:
    station_id = await station_of(call)
    records = await ports_of(call).store.logs(station_id)
    return json_response([_log_out(station_id, r) for r in records])


@resource.get(f"{BASE}/logs/{{requestId}}/file", "Download an uploaded log file",
              role=Role.OPERATOR, response=str, content_type="application/octet-stream",
              errors=(404, 422), path_types={"requestId": REQUEST_ID})
async def download_log(call: Call) -> web.StreamResponse:
    station_id = await station_of(call)
    request_id = call.int_path("requestId")
    ports = ports_of(call)
    found = [r for r in await ports.store.logs(station_id) if r.request_id == request_id]
    if not found or not found[0].stored_name:
        raise NotFound("log file", str(request_id))
    record = found[0]
    path = ports.log_dir / str(record.stored_name)
    if not path.is_file():  # stored on another host's data directory
        raise NotFound("log file", str(request_id))
    name = (record.filename or f"{record.log_type}-{request_id}.log").replace('"', "")
    return web.FileResponse(path, headers={
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{name}"'})


async def _read_upload(request: web.Request, limit: int) -> bytes:
    """The file's bytes: a raw body, or the first file part of a multipart/form-data body."""
    if request.content_type.startswith("multipart/"):
        reader = await request.multipart()
        async for part in reader:
            if isinstance(part, BodyPartReader) and part.filename is not None:
                return await _bounded(part.read_chunk, limit)
        raise InvalidInput("file", "no file part in the multipart body")
    return await _bounded(lambda: request.content.read(CHUNK), limit)


async def _bounded(read: Callable[[], Awaitable[bytes]], limit: int) -> bytes:
    data = bytearray()
    while chunk := await read():
        data += chunk
        if len(data) > limit:
            raise Problem(413, "Content Too Large", f"a log file may have at most {limit} bytes")
    return bytes(data)


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)


async def _upload(call: Call) -> web.Response:
    ports = ports_of(call)
    token = call.path("token")
    record = await ports.store.claim_upload(token_hash(token), call.ctx.clock())
    if record is None:  # unknown, used or expired: never says which
        raise NotFound("upload", "slot")
    stored = f"{uuid.uuid4().hex}.log"
    try:
        data = await _read_upload(call.request, ports.config.log_upload_max_bytes)
        await asyncio.to_thread(_write, ports.log_dir / stored, data)
    except BaseException:  # the slot is free again: the station may retry
        await ports.store.uploaded(record.station_id, record.request_id, None, None)
        raise
    await ports.store.uploaded(record.station_id, record.request_id, stored, len(data))
    return json_response(b.UploadedOut(request_id=record.request_id, size_bytes=len(data)), 201)


@resource.put(UPLOAD, "A station uploads the log it was asked for (one-time URL; raw body)",
              role=None, response=b.UploadedOut, status=201, errors=(404, 413),
              path_types={"token": TOKEN})
async def upload_log_put(call: Call) -> web.Response:
    return await _upload(call)


@resource.post(UPLOAD, "A station uploads the log it was asked for (raw or multipart body)",
               role=None, response=b.UploadedOut, status=201, errors=(404, 413),
               path_types={"token": TOKEN})
async def upload_log_post(call: Call) -> web.Response:
    return await _upload(call)


@resource.post(f"{BASE}/monitoring", "SetVariableMonitoring; accepted monitors are stored",
               role=Role.OPERATOR, body=b.MonitoringBody, response=b.MonitoringResultOut,
               errors=SEND_ERRORS)
async def set_monitoring(call: Call) -> web.Response:
    station_id = await station_of(call)
    items = [v201.SetMonitoringData(
        id=i.id, transaction=i.transaction, value=i.value, type=i.type, severity=i.severity,
        component=i.component, variable=i.variable) for i in call.body(b.MonitoringBody).items]
    answer = await service_of(call).set_monitoring(station_id, items)
    return json_response(b.MonitoringResultOut(results=list(answer.set_monitoring_result)))


@resource.get(f"{BASE}/monitoring", "Stored monitors (reported or accepted)",
              role=Role.OPERATOR, response=list[b.MonitorOut], errors=(404,))
async def list_monitors(call: Call) -> web.Response:
    station_id = await station_of(call)
    rows = await ports_of(call).store.monitors(station_id)
    return json_response([b.MonitorOut(**{f: getattr(r, f) for f in r.__struct_fields__})
                          for r in rows])


@resource.delete(f"{BASE}/monitoring", "ClearVariableMonitoring (ids=1,2,3)",
                 role=Role.OPERATOR, query=b.ClearMonitoringQuery,
                 response=b.ClearMonitoringOut, errors=SEND_ERRORS)
async def clear_monitoring(call: Call) -> web.Response:
    station_id = await station_of(call)
    ids = [int(i) for i in call.query(b.ClearMonitoringQuery).ids.split(",")]
    answer = await service_of(call).clear_monitoring(station_id, ids)
    return json_response(b.ClearMonitoringOut(results=list(answer.clear_monitoring_result)))


async def _send(call: Call, request: object) -> web.Response:
    station_id = await station_of(call)
    answer = await services_of(call.request).commands.send(station_id, request)  # type: ignore[arg-type]
    return json_response(answer)


@resource.put(f"{BASE}/monitoring/base", "SetMonitoringBase", role=Role.OPERATOR,
              body=b.MonitoringBaseBody, response=v201.SetMonitoringBaseResponse,
              errors=SEND_ERRORS)
async def set_monitoring_base(call: Call) -> web.Response:
    base = call.body(b.MonitoringBaseBody).monitoring_base
    return await _send(call, v201.SetMonitoringBaseRequest(monitoring_base=base))


@resource.put(f"{BASE}/monitoring/level", "SetMonitoringLevel", role=Role.OPERATOR,
              body=b.MonitoringLevelBody, response=v201.SetMonitoringLevelResponse,
              errors=SEND_ERRORS)
async def set_monitoring_level(call: Call) -> web.Response:
    severity = call.body(b.MonitoringLevelBody).severity
    return await _send(call, v201.SetMonitoringLevelRequest(severity=severity))


@resource.post(f"{BASE}/monitoring/report", "GetMonitoringReport; NotifyMonitoringReport "
               "parts and monitors are stored", role=Role.OPERATOR,
               body=b.MonitoringReportBody, body_required=False, response=b.RequestedOut,
               status=202, errors=SEND_ERRORS)
async def request_monitoring_report(call: Call) -> web.Response:
    station_id = await station_of(call)
    body = call.body(b.MonitoringReportBody)
    request_id, answer = await service_of(call).numbered(
        station_id, lambda rid: v201.GetMonitoringReportRequest(
            request_id=rid, monitoring_criteria=tuple(body.criteria or ()) or None,
            component_variable=tuple(body.component_variables or ()) or None))
    return json_response(requested(request_id, answer), 202)


@resource.get(f"{BASE}/monitoring/reports/{{requestId}}", "A monitoring report's stored parts",
              role=Role.OPERATOR, response=b.ReportOut, errors=(404, 422),
              path_types={"requestId": REQUEST_ID})
async def get_monitoring_report(call: Call) -> web.Response:
    return json_response(report_out(await stored_request(call, RequestKind.MONITORING)))


@resource.get(f"{BASE}/events", "Stored NotifyEvent events, newest first", role=Role.OPERATOR,
              query=PageQuery, response=b.EventPage, errors=(404,))
async def list_events(call: Call) -> web.Response:
    station_id = await station_of(call)
    query = call.query(PageQuery)
    rows, total = await ports_of(call).store.events(station_id, query.limit, query.offset)
    fields = b.EventOut.__struct_fields__
    return json_response(b.EventPage(
        items=[b.EventOut(**{f: getattr(r, f) for f in fields}) for r in rows], total=total))


@resource.post(f"{BASE}/customer-information", "CustomerInformation (LGPD data requests); "
               "NotifyCustomerInformation parts are stored", role=Role.ADMIN,
               body=b.CustomerInformationBody, response=b.RequestedOut, status=202,
               errors=(*SEND_ERRORS, 422))
async def customer_information(call: Call) -> web.Response:
    body = call.body(b.CustomerInformationBody)
    named = [body.id_token, body.customer_identifier, body.customer_certificate]
    if sum(x is not None for x in named) != 1:
        raise InvalidInput("idToken", "give exactly one of idToken, customerIdentifier, "
                           "customerCertificate")
    if not (body.report or body.clear):
        raise InvalidInput("report", "ask for a report, a clear or both")
    station_id = await station_of(call)
    request_id, answer = await service_of(call).numbered(
        station_id, lambda rid: v201.CustomerInformationRequest(
            request_id=rid, report=body.report, clear=body.clear, id_token=body.id_token,
            customer_identifier=body.customer_identifier,
            customer_certificate=body.customer_certificate))
    return json_response(requested(request_id, answer), 202)


@resource.get(f"{BASE}/customer-information/{{requestId}}",
              "A customer information request and the data the station sent",
              role=Role.ADMIN, response=b.CustomerInformationOut, errors=(404, 422),
              path_types={"requestId": REQUEST_ID})
async def get_customer_information(call: Call) -> web.Response:
    view = await stored_request(call, RequestKind.CUSTOMER)
    return json_response(b.CustomerInformationOut(
        request_id=view.request_id, status=view.status, params=view.params,
        requested_at=view.requested_at, complete=complete(view.parts),
        parts=[part_out(p) for p in view.parts],
        data="".join(str(p.data) for p in view.parts)))
