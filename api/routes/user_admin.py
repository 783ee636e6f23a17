"""User administration (admin, audited): change a user's role or suspend them. Suspension and
role changes cut the user's sessions at once: refresh families revoked, access tokens denied."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

import structlog
from aiohttp import web
from msgspec import UNSET, UnsetType

from api.errors import Conflict, NotFound
from api.routing import Call, Resource, json_response
from api.schemas.auth import UserOut
from api.schemas.base import Body
from api.security import authenticate
from api.services import need
from sigec_actors.domain.records import AuditEntry, Role, UserStatus
from sigec_actors.services.session_cut import cut_sessions

resource = Resource("admin", authenticate)
routes = resource.table
log = structlog.get_logger("api.user_admin")
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}


class UserPatchBody(Body, frozen=True, kw_only=True):
    role: Role | UnsetType = UNSET
    status: Literal["active", "suspended"] | UnsetType = UNSET


@resource.patch("/api/v1/admin/users/{id}", "Change a user's role or status; suspension and"
                " role changes end their sessions at once (audited)", role=Role.ADMIN,
                body=UserPatchBody, response=UserOut, errors=(404, 409), path_types=UUID_PATH)
async def patch_user(call: Call) -> web.Response:
    raw = call.path("id")
    try:
        user_id = UUID(raw)
    except ValueError:
        raise NotFound("user", raw) from None
    users = need(call.ctx.users, "users")
    user = await users.get(user_id)
    if user is None or user.status == UserStatus.DELETED:
        raise NotFound("user", raw)
    body = call.body(UserPatchBody)
    role = user.role if body.role is UNSET else body.role
    status = user.status if body.status is UNSET else UserStatus(body.status)
    if raw == call.caller.sub and (role != user.role or status != user.status):
        raise Conflict("user", raw, "administrators cannot demote or suspend themselves")
    if role != user.role:
        await users.set_role(user_id, role)
    if status != user.status:
        await users.set_status(user_id, status)
    cut = role != user.role or (status == UserStatus.SUSPENDED and user.status != status)
    if cut:
        now = call.ctx.clock()
        await need(call.ctx.refresh_tokens, "refresh tokens").revoke_user(
            user_id, now, "suspended" if status == UserStatus.SUSPENDED else "role changed")
        await cut_sessions(need(call.ctx.cache, "cache"), raw, now)
    await need(call.ctx.audit, "audit log").record(AuditEntry(
        "user", "user.update", call.caller.sub, "user", raw,
        details={"role": role.value, "status": status.value, "sessionsCut": cut},
        ip=call.request.remote))
    log.info("user_updated", user_id=raw, role=role.value, status=status.value, by=call.caller.sub)
    updated = await users.get(user_id)
    assert updated is not None
    return json_response(UserOut.of(updated))
