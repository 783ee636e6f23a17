"""Admin: users without secrets, the actor tree, audited restart/stop (404 for unknown paths)."""

from __future__ import annotations

from typing import Any

from structlog.testing import capture_logs

from api.testing import FakeActors
from sigec_actors.node_actors import NodeActorsView
from sigec_actors.runtime import Actor, ChildSpec, RecentMessage, Supervisor
from sigec_actors.testing import running_system, settle
from tests.api.harness import Api, start_api


async def test_users_are_listed_without_secrets(api: Api) -> None:
    page = await api.json("GET", "/api/v1/admin/users?limit=2", "admin")
    assert page["total"] == 4 and len(page["items"]) == 2
    assert all("passwordHash" not in u and "password_hash" not in u for u in page["items"])
    assert "$argon2" not in str(page)


async def test_actor_tree_is_camel_case_json(api: Api) -> None:
    tree = await api.json("GET", "/api/v1/admin/actors", "admin")
    assert tree["path"] == "/node" and tree["kind"] == "NodeSupervisor"
    leaf = tree["children"][0]["children"][0]
    assert leaf["path"] == "/node/cps/CP-1" and leaf["mailboxDepth"] == 2
    assert {"uptimeS", "lastError", "restarts", "processed"} <= set(leaf)


async def test_restart_and_stop_are_audited(api: Api) -> None:
    actors = api.ctx.actors
    assert isinstance(actors, FakeActors)
    with capture_logs() as logs:
        body = await api.json("POST", "/api/v1/admin/actors/restart", "admin",
                              json={"path": "/node/cps/CP-1"})
    assert body == {"path": "/node/cps/CP-1", "action": "restart", "done": True}
    await api.json("POST", "/api/v1/admin/actors/stop", "admin", json={"path": "/node/cps"})
    assert actors.actions == [("restart", "/node/cps/CP-1", api.ids["admin"]),
                              ("stop", "/node/cps", api.ids["admin"])]
    audited = [(r.entry.action, r.entry.target_id, r.entry.actor_id) for r in api.audit.records]
    assert audited == [("actor.restart", "/node/cps/CP-1", api.ids["admin"]),
                       ("actor.stop", "/node/cps", api.ids["admin"])]
    assert any(e["event"] == "actor_operator_action" for e in logs)


async def test_unknown_actor_path_is_404_and_not_audited(api: Api) -> None:
    await api.json("POST", "/api/v1/admin/actors/restart", "admin", json={"path": "/nope"},
                   status=404)
    problem = await api.json("POST", "/api/v1/admin/actors/stop", "admin",
                             json={"path": "relative"}, status=422)
    assert problem["field"] == "path"
    await api.json("POST", "/api/v1/admin/actors/stop", "admin",
                   json={"path": "/node", "force": True}, status=422)
    assert api.audit.records == []


async def test_actor_detail_has_recent_messages_and_validates_the_path(api: Api) -> None:
    actors = api.ctx.actors
    assert isinstance(actors, FakeActors)
    actors.recent["/node/cps/CP-1"] = [RecentMessage("2026-11-29T10:00:00.000+00:00", 1.0, "in",
                                                     "StationCall", "StationCall Heartbeat")]
    detail = await api.json("GET", "/api/v1/admin/actors/detail?path=/node/cps/CP-1", "operator")
    assert detail["recent"] == [{"at": "2026-11-29T10:00:00.000+00:00", "ageS": 1.0,
                                 "direction": "in", "kind": "StationCall",
                                 "summary": "StationCall Heartbeat"}]
    assert detail["mailboxDepth"] == 2 and detail["childKeys"] == []
    cps = await api.json("GET", "/api/v1/admin/actors/detail?path=/node/cps", "admin")
    assert cps["childKeys"] == ["CP-1"] and cps["recent"] == []
    await api.json("GET", "/api/v1/admin/actors/detail?path=/node/none", "admin", status=404)
    await api.json("GET", "/api/v1/admin/actors/detail?path=node", "admin", status=422)
    await api.json("GET", "/api/v1/admin/actors/detail", "admin", status=422)
    await api.json("GET", "/api/v1/admin/actors/detail?path=/node", "user", status=403)


async def test_users_may_not_touch_actors_but_operators_may_see_them(api: Api) -> None:
    await api.json("POST", "/api/v1/admin/actors/restart", "user",
                   json={"path": "/node/cps/CP-1"}, status=403)
    await api.json("GET", "/api/v1/admin/actors", "user", status=403)
    await api.json("GET", "/api/v1/admin/actors", "operator", status=200)


class Worker(Actor[str]):
    async def receive(self, msg: str) -> Any:
        return msg


async def test_the_real_actor_system_fits_the_view() -> None:
    spec = ChildSpec("node", lambda: Supervisor([ChildSpec("w", Worker, kind="Worker")]),
                     shutdown_timeout_s=None)
    async with running_system(spec) as (system, _root):
        api = await start_api(actors=NodeActorsView(system))
        try:
            tree = await api.json("GET", "/api/v1/admin/actors", "admin")
            assert tree["children"][0]["kind"] == "Worker"
            await api.json("POST", "/api/v1/admin/actors/restart", "admin",
                           json={"path": "/node/w"})
            await settle(system)
            assert system.snapshot().children[0].restarts == 1
            await api.json("POST", "/api/v1/admin/actors/stop", "admin",
                           json={"path": "/node/w/x"}, status=404)
            await system.lookup("/node/w").ask("hello")
            detail = await api.json("GET", "/api/v1/admin/actors/detail?path=/node/w", "operator")
            assert (detail["path"], detail["kind"], detail["childKeys"]) == ("/node/w", "Worker", [])
            assert [m["summary"] for m in detail["recent"]] == ['str "hello"']
            await api.json("GET", "/api/v1/admin/actors/detail?path=/node/zz", "admin", status=404)
            metrics = await (await api.call("GET", "/metrics")).text()
            assert 'sigec_actor_mailbox_depth{kind="Worker"} 0.0' in metrics
        finally:
            await api.close()


async def test_no_actor_system_is_503() -> None:
    api = await start_api(actors=None)
    try:
        await api.json("GET", "/api/v1/admin/actors", "admin", status=503)
    finally:
        await api.close()
