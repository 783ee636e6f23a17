"""Bearer authentication and role checks for routes that declare a role."""

from __future__ import annotations

from aiohttp import web

from api.context import AppContext
from api.errors import Forbidden, Unauthenticated
from api.routing import Principal, role_allows
from api.services import ApiServices, services_of
from sigec_actors.domain.records import Role


def bearer_token(request: web.Request) -> str:
    """The token of an `Authorization: Bearer` header; Unauthenticated when absent."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("no bearer token")
    return token.strip()


async def authenticate(request: web.Request, ctx: AppContext, needed: Role) -> Principal:
    """Verify the caller's access token (deny-list included) and its role.

    Raises Unauthenticated / InvalidToken (401), Forbidden (403), CacheUnavailable (503).
    """
    return await verify(services_of(request), bearer_token(request), needed)


async def verify(services: ApiServices, token: str, needed: Role) -> Principal:
    """The claims of `token` when it is valid, not revoked and its role allows `needed`
    (REST, GraphQL and gRPC authenticate through this one function)."""
    claims = await services.auth.authenticate(token)
    if not role_allows(claims.role, needed):
        raise Forbidden(claims.role, needed)
    return claims


def client_ip(request: web.Request) -> str:
    """The peer address (throttling key); a proxy in front must be trusted explicitly."""
    return request.remote or "unknown"
