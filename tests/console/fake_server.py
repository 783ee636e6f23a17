"""A fake of the remote SIGEC REST API on loopback: canned actor tree, recorded operator calls."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

EMAIL, PASSWORD = "ops@sigec.test", "s3cret-pass"


def _actor(path: str, kind: str, state: str, children: list[dict[str, Any]] | None = None,
           **extra: Any) -> dict[str, Any]:
    node = {"path": path, "kind": kind, "state": state, "mailboxDepth": 0, "processed": 0,
            "restarts": 0, "uptimeS": 3725.5, "lastError": None, "children": children or []}
    node.update(extra)
    return node


def _station(node: str, sid: str, **extra: Any) -> dict[str, Any]:
    state = "accepted, session 3, in flight -, queued 0"
    return _actor(f"/{node}/charge-points/{sid}", "ChargePoint", state, **extra)


def _node_tree(node: str, stations: list[dict[str, Any]], v2g: list[dict[str, Any]]) -> dict[str, Any]:
    sup = "one_for_one, {n} children, 0 recent restarts"
    return _actor(f"/{node}", "NodeSupervisor", sup.format(n=3), [
        _actor(f"/{node}/charge-points", "ChargePointSupervisor",
               sup.format(n=len(stations)), stations, processed=len(stations)),
        _actor(f"/{node}/v2g", "V2GSupervisor", sup.format(n=len(v2g)), v2g),
        _actor(f"/{node}/firmware", "FirmwareSupervisor", sup.format(n=0)),
    ])


RECENT = [  # the shape GET /api/v1/admin/actors/detail gives (sigec_actors.runtime.recent)
    {"at": "2025-05-12T14:03:07.120+00:00", "ageS": 15.2, "direction": "in",
     "kind": "StationCall", "summary": "StationCall Heartbeat"},
    {"at": "2025-05-12T14:03:21.480+00:00", "ageS": 0.8, "direction": "in",
     "kind": "StationCall", "summary": "StationCall TransactionEvent Updated seqNo 41 (7.4 kW)"},
]


def cluster_snapshot() -> dict[str, Any]:
    """Director -> two NodeHosts -> each node's supervision tree, as in `serve --workers 2`."""
    node1 = _node_tree("node-1", [
        _station("node-1", "CP-001", processed=1842, mailboxDepth=1),
        _station("node-1", "BR-SP-0042", processed=96, restarts=1,
                 lastError="KeyError: 'evseId'", uptimeS=312.0),
    ], [_actor("/node-1/v2g/V2G-7f3a", "V2GSession", "discharging, 6.2 kW", processed=57)])
    node2 = _node_tree("node-2", [
        _station("node-2", "CP-002", processed=1210),
        _station("node-2", "RJ-0007", processed=15, uptimeS=42.25),
    ], [])
    hosts = [
        _actor("/director/node-1", "NodeHost", "running", [node1], pid=4211, host="csms-a"),
        _actor("/director/node-2", "NodeHost", "running", [node2], pid=4212, host="csms-a"),
    ]
    return _actor("/director", "CsmsDirector", "running", hosts, uptimeS=7322.0, pid=4201,
                  host="csms-a")


def _problem(status: int, title: str, detail: str | None = None) -> web.Response:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    return web.json_response(body, status=status, content_type="application/problem+json")


@dataclass
class FakeApi:
    """State and records of the fake; tests change `snapshot`, `answers`, `fail_with`."""

    snapshot: dict[str, Any] = field(default_factory=cluster_snapshot)
    recent: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {"/node-1/charge-points/CP-001": RECENT})
    gone: set[str] = field(default_factory=set)  # stopped since the snapshot: detail is 404
    answers: dict[str, Any] = field(default_factory=dict)
    fail_with: tuple[int, str, str] | None = None
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    logins: int = 0
    refreshes: int = 0
    tokens: set[str] = field(default_factory=set)
    refresh_tokens: set[str] = field(default_factory=set)
    url: str = ""
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def expire_tokens(self, *, refresh_too: bool = False) -> None:
        """Every access token (and maybe refresh token) now answers 401."""
        self.tokens.clear()
        if refresh_too:
            self.refresh_tokens.clear()

    def actions(self) -> list[tuple[str, str, Any]]:
        """Recorded restart/stop/command calls (not logins, snapshots or logouts)."""
        return [c for c in self.calls if c[0] in {"restart", "stop", "command"}]

    def _issue(self) -> web.Response:
        n = next(self._ids)
        access, refresh = f"access-{n}", f"refresh-{n}"
        self.tokens.add(access)
        self.refresh_tokens.add(refresh)
        return web.json_response({"accessToken": access, "refreshToken": refresh,
                                  "tokenType": "Bearer", "expiresIn": 900})

    def _authorized(self, request: web.Request) -> bool:
        header = request.headers.get("Authorization", "")
        return header.startswith("Bearer ") and header[7:] in self.tokens

    def _paths(self, node: dict[str, Any] | None = None) -> set[str]:
        node = node or self.snapshot
        found = {node["path"]}
        for child in node.get("children", []):
            found |= self._paths(child)
        return found

    async def login(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append(("login", body.get("email"), None))
        if body != {"email": EMAIL, "password": PASSWORD}:
            return _problem(401, "Unauthorized", "wrong email or password")
        self.logins += 1
        return self._issue()

    async def refresh(self, request: web.Request) -> web.Response:
        token = (await request.json()).get("refreshToken")
        if token not in self.refresh_tokens:
            return _problem(401, "Unauthorized", "refresh token revoked")
        self.refresh_tokens.discard(token)
        self.refreshes += 1
        return self._issue()

    async def logout(self, request: web.Request) -> web.Response:
        self.calls.append(("logout", "", None))
        return web.Response(status=204)

    async def actors(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _problem(401, "Unauthorized", "token expired")
        if self.fail_with is not None:
            return _problem(*self.fail_with)
        return web.json_response(copy.deepcopy(self.snapshot))

    def _node(self, path: str, node: dict[str, Any] | None = None) -> dict[str, Any] | None:
        node = node or self.snapshot
        if node["path"] == path:
            return node
        return next((f for c in node.get("children", []) if (f := self._node(path, c))), None)

    async def detail(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _problem(401, "Unauthorized", "token expired")
        path = request.query.get("path", "")
        self.calls.append(("detail", path, None))
        node = None if path in self.gone else self._node(path)
        if node is None:
            return _problem(404, "Not Found", f"no actor at {path}")
        out = {k: v for k, v in node.items() if k != "children"}
        out["childKeys"] = [c["path"].rsplit("/", 1)[-1] for c in node.get("children", [])]
        out["recent"] = self.recent.get(path, [])
        return web.json_response(out)

    async def operate(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _problem(401, "Unauthorized", "token expired")
        action, path = request.match_info["action"], (await request.json())["path"]
        self.calls.append((action, path, None))
        if path not in self._paths():
            return _problem(404, "Not Found", f"no actor at {path}")
        return web.json_response({"path": path, "action": action, "done": True})

    async def command(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return _problem(401, "Unauthorized", "token expired")
        station, tail = request.match_info["id"], request.match_info["tail"]
        body = await request.json() if request.can_read_body else None
        self.calls.append(("command", f"{station}/{tail}", body))
        if self.fail_with is not None:
            return _problem(*self.fail_with)
        return web.json_response(self.answers.get(tail, {"status": "Accepted"}))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/v1/auth/login", self.login)
        app.router.add_post("/api/v1/auth/refresh", self.refresh)
        app.router.add_post("/api/v1/auth/logout", self.logout)
        app.router.add_get("/api/v1/admin/actors", self.actors)
        app.router.add_get("/api/v1/admin/actors/detail", self.detail)
        app.router.add_post("/api/v1/admin/actors/{action:restart|stop}", self.operate)
        app.router.add_post("/api/v1/devices/{id}/{tail:.+}", self.command)
        return app


async def start_fake() -> tuple[FakeApi, web.AppRunner]:
    """Serve a FakeApi on a free loopback port; `fake.url` is its base URL."""
    fake = FakeApi()
    runner = web.AppRunner(fake.app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    fake.url = f"http://127.0.0.1:{port}"
    return fake, runner
