"""Administration: users (admin), the actor tree and audited actions on actors (operator)."""

from __future__ import annotations

import structlog
from aiohttp import web

from api.routing import Call, Resource, json_response
from api.schemas.admin import ActorActionOut, ActorPathBody, ActorPathQuery
from api.schemas.auth import UserOut, UserPage
from api.schemas.base import PageQuery
from api.security import authenticate
from api.services import need
from sigec_actors.domain.records import AuditEntry, Role
from sigec_actors.runtime.snapshot import ActorDetail, ActorSnapshot

resource = Resource("admin", authenticate)
routes = resource.table
log = structlog.get_logger("api.admin")


@resource.get("/api/v1/admin/users", "List users", role=Role.ADMIN, query=PageQuery,
              response=UserPage)
async def list_users(call: Call) -> web.Response:
    q = call.query(PageQuery)
    users = need(call.ctx.users, "users")
    page = await users.page(q.limit, q.offset)
    return json_response(UserPage(items=[UserOut.of(u) for u in page],
                                  total=await users.count(), limit=q.limit, offset=q.offset))


@resource.get("/api/v1/admin/actors", "Snapshot of the actor tree (the cluster's with workers)",
              role=Role.OPERATOR,
              response=ActorSnapshot, errors=(503,))
async def actors(call: Call) -> web.Response:
    return json_response(await need(call.ctx.actors, "actor system").tree())


@resource.get("/api/v1/admin/actors/detail",
              "One actor (on any node) with the messages it took last", role=Role.OPERATOR,
              query=ActorPathQuery, response=ActorDetail, errors=(404, 503))
async def actor_detail(call: Call) -> web.Response:
    path = call.query(ActorPathQuery).path
    return json_response(await need(call.ctx.actors, "actor system").detail(path))


@resource.post("/api/v1/admin/actors/restart", "Restart the actor at a path (audited)",
               role=Role.OPERATOR, body=ActorPathBody, response=ActorActionOut,
               errors=(404, 503))
async def restart_actor(call: Call) -> web.Response:
    return await _operate(call, "restart")


@resource.post("/api/v1/admin/actors/stop", "Stop the actor at a path (audited)",
               role=Role.OPERATOR, body=ActorPathBody, response=ActorActionOut, errors=(404, 503))
async def stop_actor(call: Call) -> web.Response:
    return await _operate(call, "stop")


async def _operate(call: Call, action: str) -> web.Response:
    path = call.body(ActorPathBody).path
    system = need(call.ctx.actors, "actor system")
    audit = need(call.ctx.audit, "audit log")
    by = call.caller.sub
    operation = system.restart if action == "restart" else system.stop
    await operation(path, by=by)  # ActorNotFound -> 404, nothing audited
    await audit.record(AuditEntry("user", f"actor.{action}", by, "actor", path,
                                  ip=call.request.remote))
    log.info("actor_operator_action", action=action, path=path, by=by)
    return json_response(ActorActionOut(path=path, action=action))
