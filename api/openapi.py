"""OpenAPI 3.1 document built from the route specs and the very Structs the handlers decode."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from api.routing import RouteSpec
from api.schemas.base import ProblemOut

PROBLEM = "application/problem+json"
REF = "#/components/schemas/{name}"
_REASONS = {400: "Malformed request", 401: "Missing, invalid, expired or revoked access token",
            403: "Role not allowed", 404: "Not found (or not yours)", 409: "Conflict",
            422: "Invalid field (named in `field`)", 429: "Too many requests (Retry-After)",
            502: "The station answered with a CALLERROR", 503: "Unavailable (Retry-After)",
            504: "The station did not answer in time"}


def build_document(specs: Iterable[RouteSpec], *, title: str = "SIGEC-VE API",
                   version: str = "1") -> dict[str, Any]:
    """The whole document; every route spec becomes one operation."""
    specs = list(specs)
    kinds = _types(specs)
    refs, components = msgspec.json.schema_components(kinds, ref_template=REF)
    schema_of = dict(zip(kinds, refs, strict=True))
    paths: dict[str, dict[str, Any]] = {}
    for spec in specs:
        paths.setdefault(spec.path, {})[spec.method.lower()] = _operation(
            spec, schema_of, components)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "Errors are RFC 9457 problem documents."},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                           "bearerFormat": "JWT"}},
        },
    }


def _types(specs: list[RouteSpec]) -> list[Any]:
    kinds: list[Any] = [ProblemOut]
    for spec in specs:
        for kind in (spec.body, spec.query, spec.response):
            if kind is not None and kind not in kinds:
                kinds.append(kind)
    return kinds


def _operation(spec: RouteSpec, schema_of: dict[Any, Any],
               components: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = {"operationId": spec.operation_id, "summary": spec.summary,
                          "tags": [spec.tag], "parameters": _parameters(spec, components),
                          "responses": _responses(spec, schema_of)}
    if spec.role is not None:
        op["security"] = [{"bearer": []}]
        op["x-required-role"] = spec.role.value
    if spec.owner_param:
        op["x-owner-param"] = spec.owner_param
    if spec.body is not None:
        op["requestBody"] = {"required": spec.body_required, "content": {
            "application/json": {"schema": schema_of[spec.body]}}}
    return op


def _parameters(spec: RouteSpec, components: dict[str, Any]) -> list[dict[str, Any]]:
    params = [{"name": name, "in": "path", "required": True,
               "schema": spec.path_types.get(name, {"type": "string", "minLength": 1})}
              for name in spec.path_params]
    if spec.query is not None:
        schema = components[spec.query.__name__]
        required = set(schema.get("required", ()))
        params += [{"name": name, "in": "query", "required": name in required,
                    "schema": prop} for name, prop in schema["properties"].items()]
    if spec.idempotency is not None:  # api.idempotency: a retry with it replays the answer
        params.append({"name": "Idempotency-Key", "in": "header",
                       "required": spec.idempotency == "required", "schema": {
                           "type": "string", "minLength": 1, "maxLength": 255,
                           "pattern": "^[ -~]+$"}})
    return params


def _responses(spec: RouteSpec, schema_of: dict[Any, Any]) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "Success"}
    if spec.response is not None:
        ok["content"] = {"application/json": {"schema": schema_of[spec.response]}}
    elif spec.content_type != "application/json":
        ok["content"] = {spec.content_type: {"schema": {"type": "string"}}}
    codes = set(spec.errors)
    if spec.role is not None:
        codes |= {401, 403, 503}  # 503: the deny-list cannot be checked (fail closed)
    if spec.body is not None:
        codes |= {400, 422}
    if spec.query is not None or spec.path_types:
        codes.add(422)
    if spec.idempotency is not None:
        codes |= {409, 422}  # the key's first request still runs / the key was used otherwise
    problem = {PROBLEM: {"schema": schema_of[ProblemOut]}}
    out = {str(spec.status): ok}
    out.update({str(c): {"description": _REASONS.get(c, "Error"), "content": problem}
                for c in sorted(codes)})
    return out
