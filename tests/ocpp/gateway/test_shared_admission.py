"""Handshake limits without Redis: shared by the nodes through PostgreSQL; strangers throttled."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sigec_actors.adapters.pg import create_pool
from sigec_actors.adapters.redis_cache import cache_from_url
from sigec_actors.ports import Cache
from sigec_actors.testing import InMemoryStations
from tests.ocpp.gateway.conftest import PASSWORD, Harness, MakeGateway
from tests.ocpp.gateway.test_admission import WRONG, status_of

pytestmark = pytest.mark.pg


@pytest.fixture
async def node_caches(migrated_pg_dsn: str) -> AsyncIterator[tuple[Cache, Cache]]:
    """What two nodes build without REDIS_URL: each its own pool and cache, one database."""
    pools = [await create_pool(migrated_pg_dsn, max_size=4) for _ in range(2)]
    caches = (cache_from_url(None, pools[0]), cache_from_url(None, pools[1]))
    yield caches
    for cache, pool in zip(caches, pools, strict=True):
        await cache.close()
        await pool.close()


async def two_nodes(make_gateway: MakeGateway,
                    caches: tuple[Cache, Cache]) -> tuple[Harness, Harness]:
    stations = InMemoryStations()
    key = b"node-shared-secret"
    return (await make_gateway(stations=stations, cache=caches[0], digest_key=key),
            await make_gateway(stations=stations, cache=caches[1], digest_key=key))


async def test_identity_limit_counts_across_nodes(
        make_gateway: MakeGateway, node_caches: tuple[Cache, Cache]) -> None:
    node_a, node_b = await two_nodes(make_gateway, node_caches)
    await node_a.add("CP-SHARED", 1)
    # Three bad guesses on each node from one address: the limit (5) is the cluster's.
    statuses = [await status_of(node, "CP-SHARED", WRONG) for node in (node_a, node_b) * 3]
    assert statuses == [401] * 5 + [429]
    assert node_a.passwords.verifications + node_b.passwords.verifications == 5


async def test_ip_deny_list_holds_on_every_node(
        make_gateway: MakeGateway, node_caches: tuple[Cache, Cache]) -> None:
    node_a, node_b = await two_nodes(make_gateway, node_caches)
    await node_a.add("CP-IP", 1)
    # 30 failed handshakes from 127.0.0.4, split over both nodes, deny-list the address ...
    for i in range(15):
        assert await status_of(node_a, f"NOPE-{i}", WRONG, source="127.0.0.4") == 404
        assert await status_of(node_b, f"NOPE-B{i}", WRONG, source="127.0.0.4") == 404
    # ... on both nodes, before any database or argon2 work.
    assert await status_of(node_a, "CP-IP", PASSWORD, source="127.0.0.4") == 429
    assert await status_of(node_b, "CP-IP", PASSWORD, source="127.0.0.4") == 429
    assert node_a.passwords.verifications + node_b.passwords.verifications == 0


async def test_strangers_cannot_keep_a_station_out(
        make_gateway: MakeGateway, node_caches: tuple[Cache, Cache]) -> None:
    node_a, node_b = await two_nodes(make_gateway, node_caches)
    await node_a.add("CP-X", 1)
    # The station's usual address: it connected from 127.0.0.1 before (to node A).
    assert await status_of(node_a, "CP-X", PASSWORD) == 101
    # A stranger guesses from 127.0.0.2 on node B ...
    guesses = [await status_of(node_b, "CP-X", WRONG, source="127.0.0.2") for _ in range(10)]
    # ... then the station reconnects to node B (no verified entry there: argon2 runs) and
    # gets in; the stranger had five verifications, then was refused.
    assert await status_of(node_b, "CP-X", PASSWORD) == 101
    assert guesses == [401] * 5 + [429] * 5
    # The stranger stays refused.
    assert await status_of(node_b, "CP-X", WRONG, source="127.0.0.2") == 429
    # Strangers together are bounded too: 127.0.0.3 takes the rest of their shared budget
    # (10 a window, of which the station's very first verification took one, before its
    # address was known), after which other strangers are refused at once, on either node.
    more = [await status_of(node_a, "CP-X", WRONG, source="127.0.0.3") for _ in range(6)]
    assert more == [401] * 4 + [429] * 2
    assert await status_of(node_b, "CP-X", WRONG, source="127.0.0.5") == 429
    assert await status_of(node_a, "CP-X", WRONG, source="127.0.0.6") == 429
    # The usual address still gets in, on either node.
    assert await status_of(node_a, "CP-X", PASSWORD) == 101
    assert await status_of(node_b, "CP-X", PASSWORD) == 101
    assert node_a.passwords.verifications + node_b.passwords.verifications == 1 + 5 + 1 + 4
