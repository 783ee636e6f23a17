"""Charging sessions: start/stop with the app token, one, active, history, all (operator)."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from api.routing import Call, Resource, json_response
from api.schemas.transactions import (
    AdminQuery,
    HistoryQuery,
    StartBody,
    StartOut,
    StopOut,
    TransactionOut,
    TransactionPage,
)
from api.security import authenticate
from api.services import transactions as txs
from sigec_actors.domain.records import Role
from sigec_actors.transactions.ports import TxFilter

resource = Resource("transactions", authenticate)
routes = resource.table
BASE = "/api/v1/transactions"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}
COMMAND_ERRORS = (404, 409, 502, 503, 504)
START_ERRORS = (402, *COMMAND_ERRORS)


@resource.post(BASE + "/start", "Start charging with the caller's app token",
               role=Role.USER, body=StartBody, response=StartOut, errors=START_ERRORS)
async def start(call: Call) -> web.Response:
    body = call.body(StartBody)
    return json_response(await txs.start(call.ctx, call.caller, body.charge_point_id,
                                         body.evse_id))


@resource.post(BASE + "/{id}/stop", "Stop one of the caller's active sessions",
               role=Role.USER, response=StopOut, errors=COMMAND_ERRORS, path_types=UUID_PATH)
async def stop(call: Call) -> web.Response:
    return json_response(await txs.stop(call.ctx, call.caller, call.path("id")))


@resource.get(BASE + "/active", "The caller's sessions in progress", role=Role.USER,
              response=list[TransactionOut])
async def active(call: Call) -> web.Response:
    return json_response(await txs.active(call.ctx, call.caller))


@resource.get(BASE + "/history", "The caller's sessions, newest first (paged, by start date)",
              role=Role.USER, query=HistoryQuery, response=TransactionPage, errors=(422,))
async def history(call: Call) -> web.Response:
    q = call.query(HistoryQuery)
    where = TxFilter(user_id=UUID(call.caller.sub), since=q.since, until=q.until)
    return json_response(await txs.page(call.ctx, where, q.limit, q.offset))


@resource.get(BASE + "/{id}", "One session (its owner; operators see all)", role=Role.USER,
              response=TransactionOut, errors=(404,), path_types=UUID_PATH)
async def one(call: Call) -> web.Response:
    return json_response(await txs.one(call.ctx, call.caller, call.path("id")))


@resource.get("/api/v1/admin/transactions", "Every session (filters: station, user, status)",
              role=Role.OPERATOR, query=AdminQuery, response=TransactionPage, errors=(422,))
async def admin_list(call: Call) -> web.Response:
    q = call.query(AdminQuery)
    where = TxFilter(user_id=q.user_id, station_id=q.station_id, status=q.status, since=q.since,
                     until=q.until)
    return json_response(await txs.page(call.ctx, where, q.limit, q.offset))
