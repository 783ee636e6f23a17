"""Any CSMS -> station action (admin): the raw OCPP request payload, checked against the
action's schema (the generated models), sent through the audited commander, answered with the
station's response. Every action is reachable, including ones no other route wraps yet."""

from __future__ import annotations

from aiohttp import web

from api.errors import InvalidInput
from api.routes.commands import send_remote_start
from api.routing import Call, Resource, json_response
from api.security import authenticate
from api.services import services_of
from sigec_actors.charge_point.model import COMMANDS
from sigec_actors.domain.records import Role
from sigec_actors.ocpp.codec import decode_request
from sigec_actors.ocpp.errors import PayloadError
from sigec_actors.ocpp.generated.v201 import RequestStartTransactionRequest

resource = Resource("ocpp", authenticate)
ACTIONS = {spec.name: spec for spec in COMMANDS.values()}
ACTION = {"type": "string", "enum": sorted(ACTIONS)}


@resource.post("/api/v1/devices/{id}/ocpp/{action}",
               "Send any CSMS->station OCPP 2.0.1 action; the body is its request payload",
               role=Role.ADMIN, response=None,
               errors=(404, 409, 502, 503, 504), path_types={"action": ACTION})
async def any_action(call: Call) -> web.Response:
    spec = ACTIONS.get(call.path("action"))
    if spec is None:
        raise InvalidInput("action", "not a CSMS -> station OCPP 2.0.1 action", "path")
    raw = await call.request.read()
    request = decode_request(spec, raw if raw.strip() else b"{}")
    if isinstance(request, PayloadError):  # the CALLERROR code the station would answer
        raise InvalidInput(request.path.removeprefix("$").lstrip(".") or "$",
                           f"{request.code.value}: {request.description}")
    if isinstance(request, RequestStartTransactionRequest):  # linked like the remote-start route
        return json_response(await send_remote_start(call, request))
    answer = await services_of(call.request).commands.send(call.path("id"), request)
    return json_response(answer)
