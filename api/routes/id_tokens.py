"""The caller's id tokens (RFID cards, app tokens): add, list, remove; nobody else's are visible."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from uuid import UUID

import msgspec
from aiohttp import web

from api.context import AppContext
from api.errors import Conflict, NotConfigured, NotFound
from api.routing import Call, Resource, json_response
from api.schemas.base import Body, Out
from api.security import authenticate
from sigec_actors.domain.errors import IdTokenTaken
from sigec_actors.domain.records import IdToken, IdTokenType, Role
from sigec_actors.ports import IdTokenRepository, LedgerRepository, TransactionEventStore
from sigec_actors.transactions.authorize import Authorizer
from sigec_actors.transactions.ports import TransactionQueries

resource = Resource("id-tokens", authenticate)
routes = resource.table
BASE = "/api/v1/users/me/id-tokens"
EXTRAS_KEY = "transactions"


@dataclass
class TransactionPorts:
    """What the id-token and transaction routes use; bootstrap puts it in
    `AppContext.extras["transactions"]` (routes answer 503 while it is missing)."""

    id_tokens: IdTokenRepository
    queries: TransactionQueries
    store: TransactionEventStore
    ledger: LedgerRepository | None = None
    authorizer: Authorizer | None = None  # this node's, so a removal drops its cache entry


def ports_of(ctx: AppContext) -> TransactionPorts:
    ports = ctx.extras.get(EXTRAS_KEY)
    if not isinstance(ports, TransactionPorts):
        raise NotConfigured("transactions")
    return ports


class IdTokenBody(Body, frozen=True, kw_only=True):
    id_token: Annotated[str, msgspec.Meta(min_length=1, max_length=36,
                                          pattern=r"^[\x21-\x7e]+$")]
    type: IdTokenType = IdTokenType.ISO14443


class IdTokenOut(Out, frozen=True, kw_only=True):
    id: UUID
    id_token: str
    type: IdTokenType
    status: str
    expires_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, t: IdToken) -> IdTokenOut:
        return cls(id=t.id, id_token=t.id_token, type=t.type, status=t.status.value,
                   expires_at=t.expires_at, created_at=t.created_at)


@resource.post(BASE, "Register an id token (RFID card, app token) for the caller",
               role=Role.USER, body=IdTokenBody, response=IdTokenOut, status=201,
               errors=(409, 422))
async def add_token(call: Call) -> web.Response:
    body = call.body(IdTokenBody)
    ports = ports_of(call.ctx)
    try:
        token = await ports.id_tokens.add(UUID(call.caller.sub), body.id_token, body.type)
    except IdTokenTaken:
        raise Conflict("id token", f"{body.type}:{body.id_token}", "already registered") from None
    return json_response(IdTokenOut.of(token), status=201)


@resource.get(BASE, "The caller's id tokens", role=Role.USER, response=list[IdTokenOut])
async def list_tokens(call: Call) -> web.Response:
    tokens = await ports_of(call.ctx).id_tokens.list_for_user(UUID(call.caller.sub))
    return json_response([IdTokenOut.of(t) for t in tokens])


@resource.delete(BASE + "/{id}", "Remove one of the caller's id tokens", role=Role.USER,
                 status=204, errors=(404,), path_types={"id": {"type": "string",
                                                              "format": "uuid"}})
async def remove_token(call: Call) -> web.Response:
    ports = ports_of(call.ctx)
    raw = call.path("id")
    try:
        token_id = UUID(raw)
    except ValueError:
        raise NotFound("id token", raw) from None
    token = await ports.id_tokens.get(token_id)
    if token is None or not await ports.id_tokens.remove(UUID(call.caller.sub), token_id):
        raise NotFound("id token", raw)
    if ports.authorizer is not None:
        ports.authorizer.cache.forget(token.id_token, token.type.value)
    return web.Response(status=204)
