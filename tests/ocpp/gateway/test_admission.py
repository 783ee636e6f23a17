"""Handshake rate limits (S6), bounded argon2 work, Redis down (fail closed), shared limits."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus
from websockets.headers import build_authorization_basic

from sigec_actors.adapters.redis_cache import RedisCache
from sigec_actors.ocpp.admission import Admission, VerifierBusy
from sigec_actors.services.passwords import Passwords
from sigec_actors.testing import InMemoryStations, MemoryCache
from tests.ocpp.gateway.conftest import (
    OCPP,
    PASSWORD,
    Harness,
    MakeGateway,
    basic,
    password_hash,
    raw_status,
)

WRONG = "not-the-password-0123456789"


async def status_of(h: Harness, station: str, password: str,
                    source: str = "127.0.0.1") -> int:
    headers = {"Authorization": build_authorization_basic(station, password)}
    try:
        async with connect(h.url(station), subprotocols=[OCPP], additional_headers=headers,
                           local_addr=(source, 0), open_timeout=10):
            return 101
    except InvalidStatus as exc:
        return exc.response.status_code


async def test_bad_passwords_for_one_identity_stop_after_5_verifications(
        make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    await h.add("CP-1", 1)
    await h.add("CP-OK", 1)
    await h.add("CP-SEEN", 1)
    assert await status_of(h, "CP-SEEN", PASSWORD) == 101
    guesses = [status_of(h, station, WRONG) for station in ("CP-1", "CP-SEEN") for _ in range(40)]
    statuses = await asyncio.gather(*guesses)
    # Five argon2 runs per identity and address a window; CP-SEEN's own successful one counts.
    assert h.passwords.verifications == 5 + 5
    assert statuses.count(401) == 9
    assert statuses.count(429) == 71
    # The identity is locked for that address for the window, even with the right password
    # (S6; CP-1 never connected from it, see test_shared_admission for a usual address) ...
    assert await status_of(h, "CP-1", PASSWORD) == 429
    # ... but a station verified before the attack still gets in (the verified cache is
    # consulted first), so guessing cannot lock a known station out ...
    assert await status_of(h, "CP-SEEN", PASSWORD) == 101
    # ... and another station on the same address still connects.
    assert await status_of(h, "CP-OK", PASSWORD) == 101


async def test_bad_passwords_from_one_ip_are_capped_near_30(make_gateway: MakeGateway) -> None:
    """40 identities guessed from one IP: at most 30 argon2 runs (plus the ones already running
    when the limit was reached: concurrency - 1), the rest 429; other IPs are unaffected."""
    h = await make_gateway()
    for i in range(40):
        await h.add(f"CP-{i}", 1)
    await h.add("CP-OK", 1)
    statuses = await asyncio.gather(*(status_of(h, f"CP-{i}", WRONG) for i in range(40)))
    assert 30 <= h.passwords.verifications <= 30 + 2 - 1
    assert statuses.count(401) == h.passwords.verifications
    assert statuses.count(429) == 40 - h.passwords.verifications
    before = h.passwords.verifications
    # The IP is now refused before any database or argon2 work, whatever it sends.
    assert await status_of(h, "CP-OK", PASSWORD) == 429
    response = await raw_status(h.port, "/ocpp/CP-OK", authorization=basic("CP-OK", PASSWORD))
    assert response.status == 429
    assert response.headers["retry-after"] == "60"
    assert h.passwords.verifications == before
    # A legitimate station elsewhere connects promptly.
    started = time.monotonic()
    assert await status_of(h, "CP-OK", PASSWORD, source="127.0.0.2") == 101
    assert time.monotonic() - started < 2


async def test_unknown_identities_count_as_failures(make_gateway: MakeGateway) -> None:
    h = await make_gateway()
    await h.add("CP-0", 0)
    statuses = [(await raw_status(h.port, f"/ocpp/SCAN-{i}")).status for i in range(35)]
    assert statuses[:30] == [404] * 30
    assert set(statuses[30:]) == {429}
    assert (await raw_status(h.port, "/ocpp/CP-0")).status == 429


async def test_redis_down_fails_closed_for_password_profiles(make_gateway: MakeGateway) -> None:
    # A real RedisCache pointing at a port where nothing listens: every call fails.
    down = RedisCache.from_url("redis://127.0.0.1:1/0", timeout_s=0.2)
    h = await make_gateway(cache=down)
    await h.add("CP-1", 1)
    await h.add("CP-0", 0)
    response = await raw_status(h.port, "/ocpp/CP-1", authorization=basic("CP-1", PASSWORD))
    assert response.status == 503
    assert "retry-after" in response.headers
    assert h.passwords.verifications == 0
    assert (await raw_status(h.port, "/ocpp/NOPE")).status == 404
    async with connect(h.url("CP-0"), subprotocols=[OCPP]) as ws:
        assert ws.subprotocol == OCPP  # profile 0 needs no limiter
    await down.close()


async def test_too_many_waiting_verifications_is_busy() -> None:
    admission = Admission(MemoryCache(), Passwords(1), max_waiting=0)
    with pytest.raises(VerifierBusy):
        await admission.verify("CP-1", "127.0.0.1", PASSWORD, password_hash())


@pytest.fixture
async def shared_redis(redis_url: str) -> AsyncIterator[tuple[RedisCache, RedisCache]]:
    prefix = f"test:{uuid.uuid4().hex}:"
    a, b = RedisCache.from_url(redis_url, prefix=prefix), RedisCache.from_url(redis_url,
                                                                              prefix=prefix)
    yield a, b
    await a.close()
    await b.close()


@pytest.mark.redis
async def test_two_nodes_share_limits_and_verified_entries_through_redis(
        make_gateway: MakeGateway, shared_redis: tuple[RedisCache, RedisCache]) -> None:
    stations = InMemoryStations()
    key = b"node-shared-secret"
    node_a = await make_gateway(stations=stations, cache=shared_redis[0], digest_key=key)
    node_b = await make_gateway(stations=stations, cache=shared_redis[1], digest_key=key)
    await node_a.add("CP-1", 1)
    await node_a.add("CP-2", 1)
    # Three bad guesses on each node: the identity limit (5) is shared, so the 6th is refused.
    statuses = [await status_of(node, "CP-1", WRONG) for node in (node_a, node_b) * 3]
    assert statuses == [401] * 5 + [429]
    # Nodes with the same digest key share verified entries: a station moving to another
    # node (SO_REUSEPORT spreads reconnects) costs no second argon2 run.
    assert await status_of(node_a, "CP-2", PASSWORD) == 101
    assert await status_of(node_b, "CP-2", PASSWORD) == 101
    assert node_a.passwords.verifications + node_b.passwords.verifications == 5 + 1
