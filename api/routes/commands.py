"""Remote commands (operator): each route sends one OCPP request and returns the answer."""

from __future__ import annotations

import msgspec
from aiohttp import web

from api.errors import Conflict, InvalidInput
from api.routes.id_tokens import EXTRAS_KEY as TRANSACTIONS_KEY
from api.routing import Call, Resource, json_response
from api.schemas import commands as b
from api.security import authenticate
from api.services import services_of
from api.services.remote import availability_request, trigger_request
from sigec_actors.domain.records import Role
from sigec_actors.ocpp.generated import v201
from sigec_actors.transactions import remote_starts
from sigec_actors.transactions.errors import RemoteStartIdTaken
from sigec_actors.transactions.ports import RemoteStarts

resource = Resource("commands", authenticate)
routes = resource.table
ERRORS = (404, 409, 502, 503, 504)
BASE = "/api/v1/devices/{id}"
CONNECTOR = {"type": "integer", "minimum": 1, "maximum": 1000}


async def _send(call: Call, request: msgspec.Struct) -> web.Response:
    answer = await services_of(call.request).commands.send(call.path("id"), request)
    return json_response(answer)


@resource.post(f"{BASE}/remote-start", "RequestStartTransaction", role=Role.OPERATOR,
               body=b.RemoteStartBody, response=v201.RequestStartTransactionResponse,
               errors=ERRORS)
async def remote_start(call: Call) -> web.Response:
    request = services_of(call.request).commands.remote_start(call.body(b.RemoteStartBody))
    return json_response(await send_remote_start(call, request))


async def send_remote_start(call: Call, request: v201.RequestStartTransactionRequest
                            ) -> msgspec.Struct:
    """Send an operator's RequestStartTransaction, its remoteStartId stored first so that the
    station's Started (which may carry no idToken) links to the token and its user; a refused
    start frees the id again. Used by this route and by the raw-action route."""
    commands = services_of(call.request).commands
    store = getattr(call.ctx.extras.get(TRANSACTIONS_KEY), "store", None)
    starts = store if isinstance(store, RemoteStarts) else None
    station_id = call.path("id")
    try:  # stored before it is sent: the Started links to the token on any node
        await remote_starts.remember(
            starts, station_id, (request.id_token.id_token, request.id_token.type.value), None,
            lambda: request.remote_start_id, given=request.remote_start_id)
    except RemoteStartIdTaken as exc:
        raise Conflict("remoteStartId", str(exc.remote_start_id), "is taken") from None
    answer = await commands.send(station_id, request)
    if (starts is not None and isinstance(answer, v201.RequestStartTransactionResponse)
            and answer.status is not v201.RequestStartStopStatusEnum.ACCEPTED):
        await starts.forget_remote_start(station_id, request.remote_start_id)  # id free again
    return answer


@resource.post(f"{BASE}/remote-stop", "RequestStopTransaction", role=Role.OPERATOR,
               body=b.RemoteStopBody, response=v201.RequestStopTransactionResponse,
               errors=ERRORS)
async def remote_stop(call: Call) -> web.Response:
    return await _send(call, services_of(call.request).commands.remote_stop(
        call.body(b.RemoteStopBody)))


@resource.post(f"{BASE}/reset", "Reset the station or one EVSE", role=Role.OPERATOR,
               body=b.ResetBody, body_required=False, response=v201.ResetResponse,
               errors=ERRORS)
async def reset(call: Call) -> web.Response:
    return await _send(call, services_of(call.request).commands.reset(call.body(b.ResetBody)))


@resource.post(f"{BASE}/trigger/{{message}}", "TriggerMessage (message: MessageTriggerEnum)",
               role=Role.OPERATOR, body=b.TriggerBody, body_required=False,
               response=v201.TriggerMessageResponse, errors=ERRORS,
               path_types={"message": {"type": "string",
                                         "enum": [m.value for m in v201.MessageTriggerEnum]}})
async def trigger(call: Call) -> web.Response:
    try:
        message = v201.MessageTriggerEnum(call.path("message"))
    except ValueError:
        raise InvalidInput("message", "not an OCPP 2.0.1 MessageTrigger", "path") from None
    return await _send(call, trigger_request(services_of(call.request).commands, message,
                                             call.body(b.TriggerBody)))


@resource.post(f"{BASE}/unlock/{{connector}}", "UnlockConnector", role=Role.OPERATOR,
               body=b.UnlockBody, body_required=False, response=v201.UnlockConnectorResponse,
               errors=ERRORS, path_types={"connector": CONNECTOR})
async def unlock(call: Call) -> web.Response:
    connector = call.int_path("connector", minimum=1, maximum=1000)
    return await _send(call, services_of(call.request).commands.unlock(
        connector, call.body(b.UnlockBody)))


@resource.post(f"{BASE}/availability", "ChangeAvailability of the station, an EVSE or connector",
               role=Role.OPERATOR, body=b.AvailabilityBody,
               response=v201.ChangeAvailabilityResponse, errors=ERRORS)
async def availability(call: Call) -> web.Response:
    return await _send(call, availability_request(services_of(call.request).commands,
                                                  call.body(b.AvailabilityBody)))


# SetChargingProfile / ClearChargingProfile: api/routes/charging_profiles.py (stored)


# UpdateFirmware: api/routes/firmware.py (a FirmwareJob actor per update)
