"""Accounts and sessions: register, login, refresh, logout."""

from __future__ import annotations

from aiohttp import web

from api.routing import Call, Resource, json_response
from api.schemas.auth import LoginBody, LogoutBody, RefreshBody, RegisterBody, TokensOut, UserOut
from api.security import authenticate, client_ip
from api.services import services_of
from sigec_actors.domain.records import Role
from sigec_actors.services.auth import TokenPair

resource = Resource("auth", authenticate)
routes = resource.table


def _tokens(pair: TokenPair) -> web.Response:
    return json_response(TokensOut(access_token=pair.access_token,
                                   refresh_token=pair.refresh_token, expires_in=pair.expires_in))


@resource.post("/api/v1/auth/register", "Create an account (role user)", role=None,
               body=RegisterBody, response=UserOut, status=201, errors=(409, 429, 503))
async def register(call: Call) -> web.Response:
    body = call.body(RegisterBody)
    user = await services_of(call.request).auth.register(
        body.name, body.email, body.password, client_ip(call.request))
    return json_response(UserOut.of(user), status=201)


@resource.post("/api/v1/auth/login", "Exchange email and password for tokens", role=None,
               body=LoginBody, response=TokensOut, errors=(401, 422, 429, 503))
async def login(call: Call) -> web.Response:
    body = call.body(LoginBody)
    pair = await services_of(call.request).auth.login(body.email, body.password,
                                                      client_ip(call.request))
    return _tokens(pair)


@resource.post("/api/v1/auth/refresh", "Rotate a refresh token (reuse revokes its family)",
               role=None, body=RefreshBody, response=TokensOut, errors=(401,))
async def refresh(call: Call) -> web.Response:
    pair = await services_of(call.request).auth.refresh(call.body(RefreshBody).refresh_token)
    return _tokens(pair)


@resource.post("/api/v1/auth/logout", "Revoke the refresh token and deny-list the access token",
               role=Role.USER, body=LogoutBody, body_required=False, status=204, errors=(503,))
async def logout(call: Call) -> web.Response:
    body = call.body(LogoutBody)
    await services_of(call.request).auth.logout(call.caller, body.refresh_token)
    return web.Response(status=204)
