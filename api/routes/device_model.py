"""Device model (OCPP 2.0.1 block B, operator): reports, the stored model, Get/SetVariables."""

from __future__ import annotations

from aiohttp import web

from api.errors import InvalidInput, NotConfigured, NotFound
from api.routing import Call, Resource, json_response
from api.schemas import device_model as b
from api.security import authenticate
from api.services import services_of
from sigec_actors.device_model.model import Part, RequestKind, complete
from sigec_actors.device_model.ports import RequestView
from sigec_actors.device_model.service import DeviceModelService
from sigec_actors.device_model.wiring import EXTRAS_KEY, DeviceModelPorts
from sigec_actors.domain.records import Role
from sigec_actors.ocpp.generated import v201

resource = Resource("device-model", authenticate)
routes = resource.table
BASE = "/api/v1/devices/{id}"
SEND_ERRORS = (404, 409, 502, 503, 504)
REQUEST_ID = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


def ports_of(call: Call) -> DeviceModelPorts:
    ports = call.ctx.extras.get(EXTRAS_KEY)
    if not isinstance(ports, DeviceModelPorts):
        raise NotConfigured("device model")
    return ports


async def station_of(call: Call) -> str:
    """The path's station id; 404 unless it is registered."""
    station_id = call.path("id")
    if call.ctx.stations is None:
        raise NotConfigured("stations")
    if await call.ctx.stations.get(station_id) is None:
        raise NotFound("station", station_id)
    return station_id


def service_of(call: Call) -> DeviceModelService:
    """Requests sent for the caller (audited as their commands)."""
    return DeviceModelService(ports_of(call).store, services_of(call.request).commands.send,
                              call.ctx.request_ids, call.ctx.clock, by=call.caller.sub)


def requested(request_id: int, answer: object) -> b.RequestedOut:
    status = getattr(answer, "status", "")
    return b.RequestedOut(request_id=request_id, status=str(status),
                          status_info=getattr(answer, "status_info", None))


def report_out(view: RequestView) -> b.ReportOut:
    return b.ReportOut(
        request_id=view.request_id, status=view.status, params=view.params,
        requested_at=view.requested_at, complete=complete(view.parts),
        parts=[part_out(p) for p in view.parts])


def part_out(part: Part) -> b.PartOut:
    return b.PartOut(seq_no=part.seq_no, tbc=part.tbc, generated_at=part.generated_at,
                     items=part.items, data=part.data)


async def stored_request(call: Call, kind: RequestKind) -> RequestView:
    station_id = await station_of(call)
    request_id = call.int_path("requestId")
    view = await ports_of(call).store.request(station_id, kind, request_id)
    if view is None:
        raise NotFound("request", str(request_id))
    return view


@resource.post(f"{BASE}/reports", "GetBaseReport (type) or GetReport (criteria, "
               "componentVariables); NotifyReport parts are stored", role=Role.OPERATOR,
               body=b.ReportBody, body_required=False, response=b.RequestedOut, status=202,
               errors=(*SEND_ERRORS, 422))
async def request_report(call: Call) -> web.Response:
    body = call.body(b.ReportBody)
    if body.type is not None and (body.criteria or body.component_variables):
        raise InvalidInput("type", "give either type or criteria/componentVariables")
    station_id = await station_of(call)

    def build(request_id: int) -> v201.GetBaseReportRequest | v201.GetReportRequest:
        if body.type is not None:
            return v201.GetBaseReportRequest(request_id=request_id, report_base=body.type)
        return v201.GetReportRequest(
            request_id=request_id, component_criteria=tuple(body.criteria or ()) or None,
            component_variable=tuple(body.component_variables or ()) or None)

    request_id, answer = await service_of(call).numbered(station_id, build)
    return json_response(requested(request_id, answer), 202)


@resource.get(f"{BASE}/reports/{{requestId}}", "A requested report and its stored parts",
              role=Role.OPERATOR, response=b.ReportOut, errors=(404, 422),
              path_types={"requestId": REQUEST_ID})
async def get_report(call: Call) -> web.Response:
    return json_response(report_out(await stored_request(call, RequestKind.REPORT)))


@resource.get(f"{BASE}/variables", "The stored device model (filter by component, variable)",
              role=Role.OPERATOR, query=b.VariablesQuery, response=list[b.VariableOut],
              errors=(404,))
async def list_variables(call: Call) -> web.Response:
    station_id = await station_of(call)
    query = call.query(b.VariablesQuery)
    rows = await ports_of(call).store.variables(station_id, query.component, query.variable)
    return json_response([b.VariableOut(**{f: getattr(r, f) for f in r.__struct_fields__})
                          for r in rows])


@resource.post(f"{BASE}/variables/get", "GetVariables; accepted values update the store",
               role=Role.OPERATOR, body=b.GetVariablesBody, response=b.GetVariablesOut,
               errors=SEND_ERRORS)
async def get_variables(call: Call) -> web.Response:
    station_id = await station_of(call)
    items = [v201.GetVariableData(component=i.component, variable=i.variable,
                                  attribute_type=i.attribute_type)
             for i in call.body(b.GetVariablesBody).items]
    answer = await service_of(call).get_variables(station_id, items)
    return json_response(b.GetVariablesOut(results=list(answer.get_variable_result)))


@resource.post(f"{BASE}/variables/set", "SetVariables; accepted values update the store "
               "(RebootRequired flagged)", role=Role.OPERATOR, body=b.SetVariablesBody,
               response=b.SetVariablesOut, errors=SEND_ERRORS)
async def set_variables(call: Call) -> web.Response:
    station_id = await station_of(call)
    items = [v201.SetVariableData(component=i.component, variable=i.variable,
                                  attribute_type=i.attribute_type, attribute_value=i.value)
             for i in call.body(b.SetVariablesBody).items]
    answer = await service_of(call).set_variables(station_id, items)
    results = list(answer.set_variable_result)
    reboot = any(r.attribute_status is v201.SetVariableStatusEnum.REBOOT_REQUIRED
                 for r in results)
    return json_response(b.SetVariablesOut(results=results, reboot_required=reboot))
