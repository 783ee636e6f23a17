"""The caller's own account; other users' accounts are invisible (404) except to admins."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from api.errors import NotFound
from api.routing import Call, Resource, json_response
from api.schemas.auth import UserOut
from api.security import authenticate
from api.services import need
from sigec_actors.domain.records import Role

resource = Resource("users", authenticate)
routes = resource.table


@resource.get("/api/v1/users/me", "The caller's account", role=Role.USER, response=UserOut)
async def me(call: Call) -> web.Response:
    return await _user(call, call.caller.sub)


@resource.get("/api/v1/users/{userId}", "One account: its owner or an admin only",
              role=Role.USER, response=UserOut, errors=(404,), owner_param="userId")
async def get_user(call: Call) -> web.Response:
    user_id = call.path("userId")
    if user_id != call.caller.sub and call.caller.role != Role.ADMIN:
        raise NotFound("user", user_id)
    return await _user(call, user_id)


async def _user(call: Call, user_id: str) -> web.Response:
    try:
        key = UUID(user_id)
    except ValueError:
        raise NotFound("user", user_id) from None
    user = await need(call.ctx.users, "users").get(key)
    if user is None:
        raise NotFound("user", user_id)
    return json_response(UserOut.of(user))
