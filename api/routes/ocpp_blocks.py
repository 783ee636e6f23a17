"""OCPP 2.0.1 blocks over REST (operator): local list, display messages, data transfer, meter
values, network profile. Each sends its OCPP request through the commander (audited)."""

from __future__ import annotations

from aiohttp import web

from api.commands import Commands
from api.errors import NotConfigured
from api.routing import Call, Resource, json_response
from api.schemas import ocpp_blocks as b
from api.security import authenticate
from api.services import services_of
from sigec_actors.domain.records import Role
from sigec_actors.ocpp.generated import v201
from sigec_actors.ocpp_blocks.display import MessageList, MessageSet
from sigec_actors.ocpp_blocks.local_list import LocalListSent, LocalListVersion
from sigec_actors.ocpp_blocks.wiring import EXTRAS_KEY, OcppBlocks

resource = Resource("ocpp-blocks", authenticate)
ERRORS = (404, 409, 502, 503, 504)
BASE = "/api/v1/devices/{id}"
MESSAGE_ID = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}


def _blocks(call: Call) -> OcppBlocks:
    port = call.ctx.extras.get(EXTRAS_KEY)
    if not isinstance(port, OcppBlocks):
        raise NotConfigured("ocpp blocks")
    return port


async def _station(call: Call) -> tuple[Commands, str]:
    """The commander, for a registered station only (404 before anything is sent)."""
    commands = services_of(call.request).commands
    station_id = call.path("id")
    await commands.known(station_id)
    return commands, station_id


@resource.post(f"{BASE}/local-list", "SendLocalList (tokens from the database when absent)",
               role=Role.OPERATOR, body=b.LocalListBody, body_required=False,
               response=LocalListSent, errors=ERRORS)
async def send_local_list(call: Call) -> web.Response:
    body = call.body(b.LocalListBody)
    commands, station_id = await _station(call)
    sent = await _blocks(call).local_lists.send(commands, station_id, body.update_type,
                                                body.tokens)
    return json_response(sent)


@resource.get(f"{BASE}/local-list", "GetLocalListVersion, with the list last sent",
              role=Role.OPERATOR, response=LocalListVersion, errors=ERRORS)
async def local_list_version(call: Call) -> web.Response:
    commands, station_id = await _station(call)
    return json_response(await _blocks(call).local_lists.version(commands, station_id))


@resource.post(f"{BASE}/clear-cache", "ClearCache (the station's authorization cache)",
               role=Role.OPERATOR, response=v201.ClearCacheResponse, errors=ERRORS)
async def clear_cache(call: Call) -> web.Response:
    commands, station_id = await _station(call)
    return json_response(await commands.send(station_id, v201.ClearCacheRequest()))


@resource.post(f"{BASE}/display-messages", "SetDisplayMessage (stored once accepted)",
               role=Role.OPERATOR, body=b.DisplayMessageBody, response=MessageSet,
               errors=ERRORS)
async def set_display_message(call: Call) -> web.Response:
    body = call.body(b.DisplayMessageBody)
    commands, station_id = await _station(call)
    info = v201.MessageInfo(
        id=body.id or call.ctx.request_ids(), priority=body.priority, message=body.message,
        state=body.state, start_date_time=body.start_date_time,
        end_date_time=body.end_date_time, transaction_id=body.transaction_id,
        display=body.display)
    return json_response(await _blocks(call).display.set(commands, station_id, info))


@resource.get(f"{BASE}/display-messages",
              "GetDisplayMessages; the NotifyDisplayMessages report is stored and returned",
              role=Role.OPERATOR, query=b.DisplayQuery, response=MessageList, errors=ERRORS)
async def display_messages(call: Call) -> web.Response:
    query = call.query(b.DisplayQuery)
    commands, station_id = await _station(call)
    display = _blocks(call).display
    if query.cached:
        return json_response(await display.stored(station_id))
    return json_response(await display.query(commands, station_id, call.ctx.request_ids(),
                                             query.wait_s))


@resource.delete(f"{BASE}/display-messages/{{messageId}}", "ClearDisplayMessage",
                 role=Role.OPERATOR, response=v201.ClearDisplayMessageResponse, errors=ERRORS,
                 path_types={"messageId": MESSAGE_ID})
async def clear_display_message(call: Call) -> web.Response:
    message_id = call.int_path("messageId")
    commands, station_id = await _station(call)
    return json_response(await _blocks(call).display.clear(commands, station_id, message_id))


@resource.post(f"{BASE}/data-transfer", "DataTransfer to the station", role=Role.OPERATOR,
               body=b.DataTransferBody, response=v201.DataTransferResponse, errors=ERRORS)
async def data_transfer(call: Call) -> web.Response:
    body = call.body(b.DataTransferBody)
    commands, station_id = await _station(call)
    return json_response(await commands.send(station_id, v201.DataTransferRequest(
        vendor_id=body.vendor_id, message_id=body.message_id, data=body.data)))


@resource.post(f"{BASE}/network-profile", "SetNetworkProfile (e.g. a higher security profile)",
               role=Role.OPERATOR, body=b.NetworkProfileBody,
               response=v201.SetNetworkProfileResponse, errors=ERRORS)
async def set_network_profile(call: Call) -> web.Response:
    body = call.body(b.NetworkProfileBody)
    commands, station_id = await _station(call)
    return json_response(await commands.send(station_id, v201.SetNetworkProfileRequest(
        configuration_slot=body.configuration_slot, connection_data=body.connection_data)))


@resource.get(f"{BASE}/meter-values", "Meter values sent outside transactions (stored)",
              role=Role.OPERATOR, query=b.MeterValuesQuery, response=b.MeterValuesOut,
              errors=(404,))
async def meter_values(call: Call) -> web.Response:
    query = call.query(b.MeterValuesQuery)
    _, station_id = await _station(call)
    items = await _blocks(call).meter_values.read(
        station_id, query.since, query.until,
        query.measurand.value if query.measurand else None, query.limit)
    return json_response(b.MeterValuesOut(items=items))
