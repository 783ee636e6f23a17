"""Idempotency-Key (Stripe model): the stores on real PostgreSQL and in memory, and the API hook."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.context import CTX
from api.errors import InvalidInput, NotConfigured, NotFound
from api.idempotency import EXTRAS_KEY, HEADER, REPLAYED, STORE_RETRIES_S
from api.openapi import build_document
from api.problems import problem_middleware
from api.routing import Call, Resource, json_response
from api.security import authenticate
from api.services import SERVICES, ApiServices
from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.pg_idempotency import PgIdempotencyStore
from sigec_actors.domain.records import Role
from sigec_actors.idempotency import (
    Claimed,
    IdempotencyStore,
    IdemRequest,
    InFlight,
    Mismatch,
    Policy,
    Replay,
    StoredAnswer,
    fingerprint,
)
from sigec_actors.ports import DbPool
from sigec_actors.testing.idempotency import InMemoryIdempotencyStore
from tests.api.harness import Api, start_api

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = Policy(ttl_s=86_400, lock_timeout_s=90.0)
DAY = timedelta(days=1)


# ---------------------------------------------------------------- the stores, side by side

@pytest.fixture(params=["memory", pytest.param("pg", marks=pytest.mark.pg)])
def backend(request: pytest.FixtureRequest) -> str | None:
    """None for the in-memory store, else the DSN of the module's migrated database."""
    if request.param == "memory":
        return None
    dsn: str = request.getfixturevalue("migrated_pg_dsn")
    return dsn


@pytest.fixture
async def pool(backend: str | None) -> AsyncIterator[DbPool | None]:
    if backend is None:
        yield None
        return
    pg = await create_pool(backend, min_size=1, max_size=10)
    async with pg.acquire() as conn:
        await conn.execute("TRUNCATE idempotency_keys")
    yield pg
    await pg.close()


@pytest.fixture
def store(pool: DbPool | None) -> IdempotencyStore:
    return InMemoryIdempotencyStore(POLICY) if pool is None else PgIdempotencyStore(pool, POLICY)


def req(key: str = "k-1", body: str = "a", scope: str = "user-1") -> IdemRequest:
    return IdemRequest(scope, key, "POST", "/x", fingerprint("POST", "/x", [], body, scope))


ANSWER = StoredAnswer(201, "application/json", b'{"z":1,"a":[2,1],"m":"S\xc3\xa3o"}')


async def test_claim_run_finish_replay(store: IdempotencyStore) -> None:
    claimed = await store.claim(req(), T0)
    assert isinstance(claimed, Claimed)
    assert await store.claim(req(), T0 + timedelta(seconds=1)) == InFlight()
    assert await store.finish(req(), claimed.token, ANSWER, T0 + timedelta(seconds=2))
    replay = await store.claim(req(), T0 + timedelta(hours=23))
    assert replay == Replay(ANSWER)  # byte for byte: jsonb would have reordered the object
    assert await store.claim(req(body="b"), T0 + timedelta(hours=1)) == Mismatch()
    assert not await store.finish(req(), claimed.token, ANSWER, T0)  # answered already


async def test_keys_are_per_caller_and_per_request(store: IdempotencyStore) -> None:
    assert isinstance(await store.claim(req(scope="a"), T0), Claimed)
    assert isinstance(await store.claim(req(scope="b"), T0), Claimed)  # same key, other caller
    assert await store.claim(req(scope="a", body="other"), T0) == Mismatch()


async def test_release_lets_a_retry_run_again(store: IdempotencyStore) -> None:
    first = await store.claim(req(), T0)
    assert isinstance(first, Claimed)
    await store.release(req(), T0 - timedelta(seconds=1))  # not our token: kept
    assert await store.claim(req(), T0) == InFlight()
    await store.release(req(), first.token)
    assert isinstance(await store.claim(req(), T0 + timedelta(seconds=1)), Claimed)


async def test_a_dead_claim_is_taken_over_only_by_the_same_request(
        store: IdempotencyStore) -> None:
    first = await store.claim(req(), T0)
    assert isinstance(first, Claimed)
    late = T0 + timedelta(seconds=POLICY.lock_timeout_s)
    assert await store.claim(req(body="other"), late) == Mismatch()
    assert await store.claim(req(), late - timedelta(seconds=1)) == InFlight()
    second = await store.claim(req(), late)
    assert isinstance(second, Claimed) and second.token == late
    assert not await store.finish(req(), first.token, ANSWER, late)  # the old holder lost it
    assert await store.finish(req(), second.token, ANSWER, late)
    assert await store.claim(req(), late) == Replay(ANSWER)


async def test_keys_expire_after_the_ttl_and_are_pruned(store: IdempotencyStore) -> None:
    first = await store.claim(req(), T0)
    assert isinstance(first, Claimed)
    assert await store.finish(req(), first.token, ANSWER, T0)
    assert isinstance(await store.claim(req("k-2"), T0 + timedelta(hours=12)), Claimed)
    assert await store.claim(req(), T0 + DAY - timedelta(seconds=1)) == Replay(ANSWER)
    assert await store.prune(T0 + DAY - timedelta(seconds=1)) == 0
    assert await store.prune(T0 + DAY) == 1  # k-1 only; k-2 lives until T0 + 36 h
    again = await store.claim(req(body="new"), T0 + DAY)  # a pruned key is a new key
    assert isinstance(again, Claimed)
    expired = await store.claim(req("k-2", body="z"), T0 + timedelta(hours=36))
    assert isinstance(expired, Claimed)  # expired but not pruned yet: claimed afresh


async def test_binary_answers_survive(store: IdempotencyStore) -> None:
    claimed = await store.claim(req(), T0)
    assert isinstance(claimed, Claimed)
    png = StoredAnswer(200, "image/png", b"\x89PNG\r\n\x1a\n\xff\x00")
    assert await store.finish(req(), claimed.token, png, T0)
    assert await store.claim(req(), T0) == Replay(png)


@pytest.mark.pg
async def test_concurrent_claims_on_postgres_make_one_winner(pg_pool: DbPool) -> None:
    stores = [PgIdempotencyStore(pg_pool, POLICY) for _ in range(3)]  # as if on 3 nodes
    for round_ in range(5):
        outcomes = await asyncio.gather(*(
            stores[i % 3].claim(req(f"race-{round_}"), T0) for i in range(30)))
        assert sum(isinstance(o, Claimed) for o in outcomes) == 1
        assert all(isinstance(o, Claimed | InFlight) for o in outcomes)


def test_fingerprint_is_canonical() -> None:
    a = fingerprint("post", "/p", {"b": 1, "a": 2}, json.loads('{"y": 1, "x": [1, 2]}'), "u")
    b = fingerprint("POST", "/p", {"a": 2, "b": 1}, {"x": [1, 2], "y": 1}, "u")
    assert a == b
    assert a != fingerprint("POST", "/p", {"a": 2, "b": 1}, {"x": [2, 1], "y": 1}, "u")
    assert a != fingerprint("POST", "/p", {"a": 2, "b": 1}, {"x": [1, 2], "y": 1}, "v")
    assert a != fingerprint("POST", "/q", {"a": 2, "b": 1}, {"x": [1, 2], "y": 1}, "u")


# ---------------------------------------------------------------- through the API

class ChargeIn(msgspec.Struct, rename="camel", forbid_unknown_fields=True):
    amount_centavos: int
    note: str = ""


@dataclass
class Effects:
    """The test handler's side effects, counted, and a gate to hold it while it runs."""

    runs: int = 0
    keys: list[str | None] = field(default_factory=list)
    entered: asyncio.Event = field(default_factory=asyncio.Event)
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    fail_with: BaseException | None = None


test_routes = Resource("idempotency-test", authenticate)
EFFECTS = web.AppKey("effects", Effects)


@test_routes.post("/test/charge", "A money-moving test route", role=Role.USER, body=ChargeIn,
                  status=201, idempotency="required")
async def charge(call: Call) -> web.Response:
    effects = call.request.app[EFFECTS]
    effects.runs += 1
    effects.keys.append(call.idempotency_key)
    effects.entered.set()
    await effects.gate.wait()
    if effects.fail_with is not None:
        raise effects.fail_with
    body = call.body(ChargeIn)
    return json_response({"run": effects.runs, "amountCentavos": body.amount_centavos,
                          "zeta": 1, "alpha": 2}, status=201)


@test_routes.post("/test/optional", "Idempotency optional", role=Role.USER, body=ChargeIn,
                  idempotency="optional")
async def optional(call: Call) -> web.Response:
    effects = call.request.app[EFFECTS]
    effects.runs += 1
    return json_response({"run": effects.runs})


@dataclass
class Env:
    api: Api
    client: TestClient  # type: ignore[type-arg]
    effects: Effects

    async def post(self, key: str | None, body: Any, path: str = "/test/charge",
                   who: str = "user", raw: bytes | None = None) -> tuple[int, bytes, Any]:
        headers = {"Authorization": f"Bearer {self.api.tokens[who]}",
                   "Content-Type": "application/json"}
        if key is not None:
            headers[HEADER] = key
        data = raw if raw is not None else json.dumps(body).encode()
        resp = await self.client.post(path, data=data, headers=headers)
        return resp.status, await resp.read(), resp.headers


@pytest.fixture
async def env(store: IdempotencyStore) -> AsyncIterator[Env]:
    api = await start_api()
    api.ctx.extras[EXTRAS_KEY] = store
    app = web.Application(middlewares=[problem_middleware])
    app[CTX] = api.ctx
    app[SERVICES] = ApiServices(api.ctx)
    effects = Effects()
    effects.gate.set()
    app[EFFECTS] = effects
    app.add_routes(test_routes.table)
    client = TestClient(TestServer(app))
    await client.start_server()
    yield Env(api, client, effects)
    await client.close()
    await api.close()


async def test_replay_returns_the_stored_answer_without_running_again(env: Env) -> None:
    status, body, headers = await env.post("key-1", {"amountCentavos": 500})
    assert status == 201 and REPLAYED not in headers
    # the same request spelled differently (key order, spaces, a default written out)
    again = b'{ "note": "", "amountCentavos": 500 }'
    for _ in range(3):
        replay_status, replay_body, replay_headers = await env.post("key-1", None, raw=again)
        assert (replay_status, replay_body) == (status, body)
        assert replay_headers[REPLAYED] == "true"
        assert replay_headers["Content-Type"].startswith("application/json")
    assert env.effects.runs == 1 and env.effects.keys == ["key-1"]


async def test_same_key_other_body_is_422_naming_the_header(env: Env) -> None:
    assert (await env.post("key-1", {"amountCentavos": 500}))[0] == 201
    status, body, _ = await env.post("key-1", {"amountCentavos": 501})
    problem = json.loads(body)
    assert status == 422 and problem["field"] == HEADER and problem["where"] == "header"
    assert env.effects.runs == 1


async def test_keys_belong_to_their_caller(env: Env) -> None:
    assert (await env.post("shared", {"amountCentavos": 500}))[0] == 201
    status, body, _ = await env.post("shared", {"amountCentavos": 500}, who="other")
    assert status == 201 and json.loads(body)["run"] == 2  # not user's answer replayed
    assert env.effects.runs == 2


async def test_a_request_still_running_makes_the_retry_409(env: Env) -> None:
    env.effects.gate.clear()
    first = asyncio.ensure_future(env.post("slow", {"amountCentavos": 700}))
    await env.effects.entered.wait()
    status, body, headers = await env.post("slow", {"amountCentavos": 700})
    assert status == 409 and json.loads(body)["field"] == HEADER
    assert headers["Retry-After"] == "1"
    env.effects.gate.set()
    assert (await first)[0] == 201
    assert (await env.post("slow", {"amountCentavos": 700}))[0] == 201
    assert env.effects.runs == 1


async def test_concurrent_same_key_requests_run_the_handler_once(env: Env) -> None:
    results = await asyncio.gather(*(env.post("burst", {"amountCentavos": 900})
                                     for _ in range(20)))
    statuses = [status for status, _, _ in results]
    assert env.effects.runs == 1
    assert set(statuses) <= {201, 409} and 201 in statuses
    assert len({body for status, body, _ in results if status == 201}) == 1


async def test_typed_errors_after_the_start_are_stored_transient_ones_are_not(
        env: Env) -> None:
    env.effects.fail_with = NotFound("wallet", "w-1")
    first = await env.post("err", {"amountCentavos": 1})
    assert first[0] == 404
    env.effects.fail_with = None
    assert (await env.post("err", {"amountCentavos": 1}))[:2] == first[:2]  # replayed 404
    env.effects.fail_with = NotConfigured("payments")
    assert (await env.post("busy", {"amountCentavos": 1}))[0] == 503
    env.effects.fail_with = None
    assert (await env.post("busy", {"amountCentavos": 1}))[0] == 201  # ran again
    assert env.effects.runs == 3


async def test_refused_input_from_the_handler_releases_the_key(env: Env) -> None:
    env.effects.fail_with = InvalidInput("amountCentavos", "must be in 100..500000")
    status, body, _ = await env.post("bad", {"amountCentavos": 1})
    assert status == 422 and json.loads(body)["field"] == "amountCentavos"
    env.effects.fail_with = None
    assert (await env.post("bad", {"amountCentavos": 1}))[0] == 201
    assert env.effects.runs == 2


async def test_an_unexpected_error_releases_the_key(env: Env) -> None:
    env.effects.fail_with = RuntimeError("a bug")
    assert (await env.post("boom", {"amountCentavos": 1}))[0] == 500
    env.effects.fail_with = None
    assert (await env.post("boom", {"amountCentavos": 1}))[0] == 201
    assert env.effects.runs == 2


async def test_expired_keys_run_again(env: Env) -> None:
    body = {"amountCentavos": 300}
    assert json.loads((await env.post("old", body))[1])["run"] == 1
    env.api.clock.advance(POLICY.ttl_s - 1)
    env.api.tokens["user"] = env.api.token_for(env.api.ids["user"], Role.USER)  # a fresh token
    assert json.loads((await env.post("old", body))[1])["run"] == 1
    env.api.clock.advance(1)
    assert json.loads((await env.post("old", body))[1])["run"] == 2


@pytest.mark.parametrize(("key", "status"), [(None, 422), ("", 422), ("x" * 256, 422),
                                             ("tab\there", 422), ("x" * 255, 201)])
async def test_the_header_is_required_and_checked(env: Env, key: str | None,
                                                  status: int) -> None:
    got, body, _ = await env.post(key, {"amountCentavos": 1})
    assert got == status
    if status == 422:
        assert json.loads(body)["field"] == HEADER and env.effects.runs == 0


async def test_invalid_bodies_are_refused_before_the_key_is_claimed(env: Env) -> None:
    assert (await env.post("k", {"amountCentavos": "x"}))[0] == 422
    assert (await env.post("k", {"amountCentavos": 2}))[0] == 201  # the key was still free


async def test_optional_routes_run_without_a_key(env: Env) -> None:
    assert (await env.post(None, {"amountCentavos": 1}, path="/test/optional"))[0] == 200
    assert (await env.post(None, {"amountCentavos": 1}, path="/test/optional"))[0] == 200
    assert (await env.post("o", {"amountCentavos": 1}, path="/test/optional"))[0] == 200
    assert (await env.post("o", {"amountCentavos": 1}, path="/test/optional"))[0] == 200
    assert env.effects.runs == 3


async def test_no_store_is_503() -> None:
    api = await start_api(seed=False)
    try:
        api.ctx.extras.pop(EXTRAS_KEY)
        app = web.Application(middlewares=[problem_middleware])
        app[CTX], app[SERVICES], app[EFFECTS] = api.ctx, ApiServices(api.ctx), Effects()
        app.add_routes(test_routes.table)
        async with TestClient(TestServer(app)) as client:
            from sigec_actors.domain.records import NewUser
            from tests.api.harness import password_hash
            user = await api.ctx.users.create(  # type: ignore[union-attr]
                NewUser("u", "u@example.com", password_hash(), Role.USER))
            resp = await client.post("/test/charge", json={"amountCentavos": 1}, headers={
                HEADER: "k", "Authorization": f"Bearer {api.token_for(str(user.id), Role.USER)}"})
            assert resp.status == 503
    finally:
        await api.close()


def test_openapi_documents_the_header_and_its_answers() -> None:
    doc = build_document(test_routes.specs)
    op = doc["paths"]["/test/charge"]["post"]
    header = next(p for p in op["parameters"] if p["in"] == "header")
    assert header["name"] == HEADER and header["required"] is True
    assert {"409", "422"} <= set(op["responses"])
    optional_op = doc["paths"]["/test/optional"]["post"]
    assert next(p for p in optional_op["parameters"] if p["in"] == "header")["required"] is False


class FlakyStore:
    """A store whose `finish` (and `release`) fail with a terminated connection `failures`
    times before they reach the real store: what pg_terminate_backend does to a request."""

    def __init__(self, inner: IdempotencyStore, failures: int) -> None:
        self.inner, self.failures = inner, failures

    def _fail(self) -> None:
        if self.failures > 0:
            self.failures -= 1
            raise asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed")

    async def claim(self, request: IdemRequest, now: datetime) -> Any:
        return await self.inner.claim(request, now)

    async def finish(self, request: IdemRequest, token: datetime, answer: StoredAnswer,
                     now: datetime) -> bool:
        self._fail()
        return await self.inner.finish(request, token, answer, now)

    async def release(self, request: IdemRequest, token: datetime) -> None:
        self._fail()
        await self.inner.release(request, token)

    async def prune(self, now: datetime) -> int:
        return await self.inner.prune(now)


@pytest.mark.parametrize(("failures", "replayed"), [(2, True), (len(STORE_RETRIES_S) + 1, False)])
async def test_an_answer_the_store_failed_to_keep_never_leaves_the_key_stuck(
        env: Env, failures: int, replayed: bool) -> None:
    """A connection killed while the answer is stored: stored on a later attempt (the retry
    replays it), or, when the database stays away, the key is released (the retry runs again,
    finding the money effect by its own key) instead of a 409 until the lock timeout."""
    flaky = FlakyStore(env.api.ctx.extras[EXTRAS_KEY], failures)
    env.api.ctx.extras[EXTRAS_KEY] = flaky
    first = await env.post("kill", {"amountCentavos": 700})
    assert first[0] == 201
    flaky.failures = 0
    again = await env.post("kill", {"amountCentavos": 700})
    assert again[0] == 201, again
    assert (REPLAYED in again[2]) is replayed
    assert env.effects.runs == (1 if replayed else 2)
