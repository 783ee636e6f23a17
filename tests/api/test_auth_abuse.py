"""Abuse of the auth routes (issue #13): registration floods, per-source lockout, guarded accounts."""

from __future__ import annotations

import asyncio

from sigec_actors.config import load_settings
from sigec_actors.services.passwords import Passwords
from tests.api.harness import PASSWORD, Api, start_api
from tests.api.sources import from_source
from tests.helpers.gated_hasher import GatedHasher

REGISTER = "/api/v1/auth/register"
LOGIN = "/api/v1/auth/login"
GUARD_S = 20.0  # hang guard only


def _account(i: int) -> dict[str, str]:
    return {"name": f"Flood {i}", "email": f"flood{i}@example.com",
            "password": f"flood number {i} passphrase"}


async def _login(api: Api, source: str, email: str, password: str = PASSWORD) -> int:
    status, _, _ = await from_source(api, source, "POST", LOGIN,
                                     json={"email": email, "password": password})
    return status


async def test_registration_is_limited_per_client_address(api: Api) -> None:
    for i in range(5):
        await api.json("POST", REGISTER, status=201, json=_account(i))
    resp = await api.call("POST", REGISTER, json=_account(5))
    assert resp.status == 429 and resp.headers["Retry-After"] == "3600"
    assert (await resp.json(content_type=None))["status"] == 429
    status, _, _ = await from_source(api, "127.0.0.2", "POST", REGISTER, json=_account(6))
    assert status == 201  # another address has its own budget


async def test_a_login_is_served_during_a_registration_flood() -> None:
    gated = GatedHasher()
    api = await start_api(passwords=Passwords(2, registration_slots=1, registration_queue=10,
                                              hasher=gated))
    flood = [asyncio.create_task(from_source(api, f"127.0.0.{10 + i}", "POST", REGISTER,
                                             json=_account(i))) for i in range(11)]
    try:
        await gated.until_hashing(1)
        while api.ctx.passwords._in_lane < 11:  # type: ignore[union-attr]
            await asyncio.sleep(0.01)
        # the lane and its queue are full: one more registration is refused at once
        status, headers, _ = await from_source(api, "127.0.0.30", "POST", REGISTER,
                                               json=_account(30))
        assert status == 503 and int(headers["Retry-After"]) > 0
        login = await asyncio.wait_for(_login(api, "127.0.0.1", "admin@example.com"), GUARD_S)
        assert login == 200 and gated.hashing == 1
    finally:
        gated.open()
        results = await asyncio.gather(*flood)
        await api.close()
    assert [status for status, _, _ in results] == [201] * 11
    assert gated.most_hashing == 1


async def test_failures_from_one_address_lock_only_that_address(api: Api) -> None:
    attacker, owner = "127.0.0.2", "127.0.0.1"
    for _ in range(5):
        assert await _login(api, attacker, "admin@example.com", "wrong password") == 401
    assert await _login(api, attacker, "admin@example.com") == 429  # even the right one
    assert await _login(api, owner, "admin@example.com") == 200


async def test_distributed_guessing_admits_only_known_addresses() -> None:
    settings = load_settings({}, overrides={"auth.login_failures_per_account": 6})
    api = await start_api(settings=settings)
    try:
        assert await _login(api, "127.0.0.1", "user@example.com") == 200  # a known address
        for source in ("127.0.0.2", "127.0.0.3", "127.0.0.4"):
            for _ in range(2):
                assert await _login(api, source, "user@example.com", "wrong password") == 401
        # 6 failures from 3 addresses: the account admits its known addresses only
        assert await _login(api, "127.0.0.5", "user@example.com") == 429
        assert await _login(api, "127.0.0.1", "user@example.com") == 200
        assert await _login(api, "127.0.0.5", "other@example.com") == 200
    finally:
        await api.close()
