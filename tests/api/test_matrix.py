"""Authorization matrix (A1/A2), generated from the route specs: new routes are covered as added.

Principals: anonymous, user, another user, operator, admin. A route that needs a role gives
401 to anonymous callers and 403 to weaker roles; an owner-scoped route gives 404 (no existence
leak) to anyone but its owner and admins.
"""

from __future__ import annotations

from uuid import uuid4

from api.app import route_specs
from api.idempotency import HEADER as IDEMPOTENCY_KEY
from api.routing import RouteSpec, role_allows
from tests.api.harness import ROLES, Api

PATH_VALUES = {"serialNumber": "1a", "fingerprint": "0" * 64,  # certificates, pki roots
               "id": "CP-1", "message": "Heartbeat", "connector": "1", "messageId": "1",
               "action": "ClearCache",
               "requestId": "1", "token": "unknown-token"}  # device model, diagnostics


def _url(spec: RouteSpec, api: Api) -> str:
    url = spec.path
    for name in spec.path_params:
        value = api.ids["user"] if name == spec.owner_param else PATH_VALUES[name]
        url = url.replace("{" + name + "}", value)
    return url


def _expected(spec: RouteSpec, who: str | None) -> str:
    if spec.role is None:
        return "allowed"
    if who is None:
        return "401"
    if not role_allows(ROLES[who], spec.role):
        return "403"
    if spec.owner_param and who not in ("user", "admin"):
        return "404"
    return "allowed"


async def _status(api: Api, spec: RouteSpec, who: str | None) -> int:
    headers = {}
    if who is not None:  # a fresh token per call: logout deny-lists the one it is called with
        token = api.token_for(api.ids[who], ROLES[who])
        headers["Authorization"] = f"Bearer {token}"
    if spec.idempotency is not None:  # a fresh key: the call reaches the handler, not a 422
        headers[IDEMPOTENCY_KEY] = str(uuid4())
    kwargs = {"json": {}} if spec.body is not None else {}
    resp = await api.client.request(spec.method, _url(spec, api), headers=headers, **kwargs)
    await resp.read()
    return resp.status


async def test_every_route_against_every_principal(api: Api) -> None:
    specs = route_specs()
    assert len(specs) >= 25
    wrong = []
    for spec in specs:
        for who in (None, "user", "other", "operator", "admin"):
            status = await _status(api, spec, who)
            expected = _expected(spec, who)
            ok = (status not in (401, 403, 404) or (status == 404 and not spec.owner_param)
                  if expected == "allowed" else str(status) == expected)
            if not ok or status >= 500:
                wrong.append(f"{spec.method} {spec.path} as {who}: {status}, want {expected}")
    assert not wrong, "\n".join(wrong)


async def test_matrix_sees_owner_scoped_routes(api: Api) -> None:
    assert any(spec.owner_param for spec in route_specs())
    assert {s.role for s in route_specs()} >= {None, *ROLES.values()}


async def test_owner_sees_own_account_and_others_get_404(api: Api) -> None:
    me = await api.json("GET", f"/api/v1/users/{api.ids['user']}", "user")
    assert me["email"] == "user@example.com" and "passwordHash" not in me
    await api.json("GET", f"/api/v1/users/{api.ids['user']}", "other", status=404)
    await api.json("GET", f"/api/v1/users/{api.ids['user']}", "admin")
    await api.json("GET", "/api/v1/users/not-a-uuid", "admin", status=404)
    assert (await api.json("GET", "/api/v1/users/me", "other"))["id"] == api.ids["other"]
