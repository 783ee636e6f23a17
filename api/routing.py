"""Route metadata: one `Resource` per module; each route names its role, body, query and answer."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

import msgspec
from aiohttp import web

from api.commands import acting_for, caller_of
from api.context import AppContext, ctx_of
from api.errors import InvalidInput, MalformedBody
from api.idempotency import idempotent
from api.schemas.base import INT64_MAX
from sigec_actors.domain.records import Role
from sigec_actors.services.tokens import AccessClaims

S = TypeVar("S", bound=msgspec.Struct)
PARAM = re.compile(r"{(\w+)}")
_DIGITS = re.compile(r"[0-9]{1,10}")
_NUL = "must not contain a NUL character"
_ROLE_RANK = {Role.USER: 1, Role.OPERATOR: 2, Role.ADMIN: 3}


def role_allows(granted: Role, needed: Role) -> bool:
    """True when a principal with `granted` may call a route that needs `needed`."""
    return _ROLE_RANK[granted] >= _ROLE_RANK[needed]


Principal = AccessClaims  # the caller of a request: the claims of its verified access token

@dataclass(frozen=True)
class RouteSpec:
    """What a route is: the source of the OpenAPI document and the authorization matrix.

    `role` None means public. `owner_param` names the path parameter holding the id of a user
    who owns the object (that user and admins see it; anyone else gets 404). `idempotency`
    makes the route honour an Idempotency-Key header ("required" or "optional"; api.idempotency).
    """

    method: str
    path: str
    summary: str
    tag: str
    role: Role | None
    body: type[msgspec.Struct] | None = None
    body_required: bool = True
    query: type[msgspec.Struct] | None = None
    response: Any = None
    status: int = 200
    errors: tuple[int, ...] = ()
    path_types: dict[str, dict[str, Any]] = field(default_factory=dict)
    owner_param: str | None = None
    content_type: str = "application/json"
    operation_id: str = ""
    idempotency: Literal["required", "optional"] | None = None

    @property
    def path_params(self) -> list[str]:
        return PARAM.findall(self.path)


@dataclass
class Call:
    """One request as a handler sees it: context, caller, decoded body and query."""

    request: web.Request
    ctx: AppContext
    spec: RouteSpec
    principal: Principal | None
    raw_body: msgspec.Struct | None = None
    raw_query: msgspec.Struct | None = None
    idempotency_key: str | None = None  # set while an idempotent route runs under a key

    def body(self, kind: type[S]) -> S:
        assert isinstance(self.raw_body, kind), "route declares another body type"
        return self.raw_body

    def query(self, kind: type[S]) -> S:
        assert isinstance(self.raw_query, kind), "route declares another query type"
        return self.raw_query

    def path(self, name: str) -> str:
        """A path parameter; a NUL (`%00`) is a 422 (PostgreSQL text cannot hold one)."""
        raw = self.request.match_info[name]
        if "\x00" in raw:
            raise InvalidInput(name, _NUL, "path")
        return raw

    def int_path(self, name: str, minimum: int = 0, maximum: int = 2**31 - 1) -> int:
        raw = self.request.match_info[name]
        if not _DIGITS.fullmatch(raw) or not minimum <= int(raw) <= maximum:
            raise InvalidInput(name, f"must be an integer in {minimum}..{maximum}", "path")
        return int(raw)

    @property
    def caller(self) -> Principal:
        assert self.principal is not None, "route is public"
        return self.principal


CallHandler = Callable[[Call], Awaitable[web.StreamResponse]]
Authenticate = Callable[[web.Request, AppContext, Role], Awaitable[Principal]]


class Resource:
    """A RouteTableDef whose routes carry a RouteSpec (see `ALL_RESOURCES` in api.app)."""

    def __init__(self, tag: str, authenticate: Authenticate | None = None) -> None:
        self.tag = tag
        self.table = web.RouteTableDef()
        self.specs: list[RouteSpec] = []
        self._authenticate = authenticate

    def route(self, method: str, path: str, summary: str, *, role: Role | None,
              **options: Any) -> Callable[[CallHandler], CallHandler]:
        def register(handler: CallHandler) -> CallHandler:
            spec = RouteSpec(method=method, path=path, summary=summary, tag=self.tag, role=role,
                             operation_id=handler.__name__, **options)
            self.specs.append(spec)
            self.table.route(method, path)(self._wrap(spec, handler))
            return handler
        return register

    def get(self, path: str, summary: str, *, role: Role | None,
            **options: Any) -> Callable[[CallHandler], CallHandler]:
        return self.route("GET", path, summary, role=role, **options)

    def post(self, path: str, summary: str, *, role: Role | None,
             **options: Any) -> Callable[[CallHandler], CallHandler]:
        return self.route("POST", path, summary, role=role, **options)

    def put(self, path: str, summary: str, *, role: Role | None,
            **options: Any) -> Callable[[CallHandler], CallHandler]:
        return self.route("PUT", path, summary, role=role, **options)

    def patch(self, path: str, summary: str, *, role: Role | None,
              **options: Any) -> Callable[[CallHandler], CallHandler]:
        return self.route("PATCH", path, summary, role=role, **options)

    def delete(self, path: str, summary: str, *, role: Role | None,
               **options: Any) -> Callable[[CallHandler], CallHandler]:
        return self.route("DELETE", path, summary, role=role, **options)

    def _wrap(self, spec: RouteSpec,
              handler: CallHandler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        run = handler if spec.idempotency is None else idempotent(handler)

        async def endpoint(request: web.Request) -> web.StreamResponse:
            ctx = ctx_of(request)
            principal = None
            if spec.role is not None:
                assert self._authenticate is not None, f"{self.tag}: no authenticator"
                principal = await self._authenticate(request, ctx, spec.role)
            call = Call(request, ctx, spec, principal)
            if spec.query is not None:
                call.raw_query = decode_query(spec.query, request)
            if spec.body is not None:
                call.raw_body = decode_body(spec.body, await request.read(), spec.body_required)
            if principal is None:
                return await run(call)
            with acting_for(caller_of(principal.sub, principal.role,  # for station commands
                                      request.remote)):
                return await run(call)
        endpoint.__name__ = handler.__name__
        endpoint.__doc__ = handler.__doc__
        return endpoint


def decode_body(kind: type[S], raw: bytes, required: bool = True) -> S:
    """Decode a JSON body into `kind`; unknown or invalid fields raise InvalidInput naming them."""
    if not raw.strip():
        if required:
            raise MalformedBody("a JSON object body is required")
        raw = b"{}"
    try:
        body = msgspec.json.decode(raw, type=kind)
    except msgspec.ValidationError as exc:
        raise InvalidInput.from_validation(exc, "body") from None
    except msgspec.DecodeError as exc:
        raise MalformedBody(str(exc)) from None
    if b"\\u0000" in raw:  # JSON carries a NUL only escaped; PostgreSQL text/jsonb refuse it
        _refuse_nul(msgspec.json.decode(raw))
    return body


def _refuse_nul(document: Any) -> None:
    """Raise a 422 naming the first string or key of a JSON body that holds a NUL."""
    stack: list[tuple[str, Any]] = [("", document)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, str) and "\x00" in value:
            raise InvalidInput(path or "$", _NUL, "body")
        if isinstance(value, dict):
            for key, item in reversed(value.items()):
                where = f"{path}.{key}" if path else key
                stack += [(where, item), (where, key)]  # a key is a string too: checked first
        elif isinstance(value, list):
            stack.extend((f"{path}[{i}]", item) for i, item in reversed(list(enumerate(value))))


def decode_query(kind: type[S], request: web.Request) -> S:
    """Convert query-string parameters (strings) into `kind`, coercing numbers and booleans."""
    values: dict[str, Any] = {}
    for key in request.query:
        items = request.query.getall(key)
        if any("\x00" in item for item in items):
            raise InvalidInput(key, _NUL, "query")
        values[key] = items[0] if len(items) == 1 else items
    try:
        query = msgspec.convert(values, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise InvalidInput.from_validation(exc, "query") from None
    _check_int64(query)
    return query


def _check_int64(query: msgspec.Struct) -> None:
    """No integer beyond int64 reaches the database (a query type may forget its bound)."""
    for name in query.__struct_fields__:
        value = getattr(query, name)
        if isinstance(value, int) and not -INT64_MAX - 1 <= value <= INT64_MAX:
            encoded = query.__struct_encode_fields__[query.__struct_fields__.index(name)]
            raise InvalidInput(encoded, f"must be an integer in {-INT64_MAX - 1}..{INT64_MAX}",
                               "query")


def json_response(value: Any, status: int = 200) -> web.Response:
    """Encode a Struct (camelCase), list or dict as a JSON response."""
    return web.Response(status=status, body=msgspec.json.encode(value),
                        content_type="application/json")
