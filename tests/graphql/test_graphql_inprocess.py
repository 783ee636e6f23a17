"""GraphQL in process on the API's in-memory fakes: batched loading, limits, input errors."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from api.graphql.app import create_graphql_app
from api.graphql.limits import Limits
from api.graphql.schema import build_schema
from sigec_actors.domain.records import Connector
from sigec_actors.testing import InMemoryStations
from tests.api.harness import Api, start_api


class CountingStations(InMemoryStations):
    """The in-memory repository, counting connector reads (one per query it would make)."""

    def __init__(self) -> None:
        super().__init__()
        self.reads: list[str] = []

    async def connectors(self, station_id: str) -> list[Connector]:
        self.reads.append("connectors")
        return await super().connectors(station_id)

    async def connectors_many(self, station_ids: Sequence[str]) -> dict[str, list[Connector]]:
        self.reads.append("connectors_many")
        return {s: await super(CountingStations, self).connectors(s) for s in station_ids}


@pytest.fixture
async def api() -> AsyncIterator[tuple[Api, TestClient, CountingStations]]:  # type: ignore[type-arg]
    stations = CountingStations()
    api = await start_api(stations=stations)
    client = TestClient(TestServer(create_graphql_app(api.ctx, None)))
    await client.start_server()
    yield api, client, stations
    await client.close()
    await api.close()


async def _post(client: TestClient, api: Api, query: str, who: str = "user") -> Any:  # type: ignore[type-arg]
    resp = await client.post("/graphql", json={"query": query},
                             headers={"Authorization": f"Bearer {api.tokens[who]}"})
    assert resp.status == 200
    return await resp.json()


async def test_a_page_of_devices_reads_connectors_in_one_query(api: Any) -> None:
    harness, client, stations = api
    body = await _post(client, harness, "{ devices(first: 4) { totalCount nodes { id "
                                        "connectors { evseId status } } } }")
    assert "errors" not in body, body
    assert [d["id"] for d in body["data"]["devices"]["nodes"]] == ["CP-1", "CP-2", "CP-3", "CP-4"]
    assert stations.reads == ["connectors_many"]  # not one read per device


async def test_paging_with_cursors(api: Any) -> None:
    harness, client, _ = api
    first = await _post(client, harness, "{ devices(first: 3) { nodes { id } "
                                         "pageInfo { hasNextPage endCursor } } }")
    page = first["data"]["devices"]
    assert page["pageInfo"]["hasNextPage"] is True
    after = page["pageInfo"]["endCursor"]
    rest = await _post(client, harness, f'{{ devices(first: 3, after: "{after}") {{ nodes {{ id }}'
                                        " pageInfo { hasNextPage } } }")
    assert [d["id"] for d in rest["data"]["devices"]["nodes"]] == ["CP-4"]
    assert rest["data"]["devices"]["pageInfo"]["hasNextPage"] is False
    too_big = await _post(client, harness, "{ devices(first: 201) { totalCount } }")
    assert too_big["errors"][0]["extensions"]["code"] == "INVALID_INPUT"


async def test_an_input_error_names_the_field_like_rest(api: Any) -> None:
    harness, client, _ = api
    body = await _post(client, harness, 'mutation { startTransaction(chargePointId: "CP-1", '
                                        "evseId: 0) { accepted } }")
    error = body["errors"][0]
    assert error["extensions"]["code"] == "INVALID_INPUT" and "evseId" in error["message"]


def test_a_query_deeper_than_the_limit_is_refused_before_any_resolver_runs() -> None:
    schema = build_schema(Limits(max_depth=3, max_cost=5000))
    # context None: a resolver that ran would fail with an internal error instead
    result = schema.execute_sync("{ devices { nodes { connectors { status } } } }",
                                 context_value=None)
    assert result.errors and result.data is None
    assert result.errors[0].extensions == {"code": "QUERY_TOO_DEEP", "depth": 4, "maxDepth": 3}


def test_cost_counts_page_sizes_and_fragments() -> None:
    schema = build_schema(Limits(max_depth=10, max_cost=100))
    inline = "{ devices(first: 50) { nodes { id vendor model } } }"
    spread = ("query { devices(first: 50) { ...d } } "
              "fragment d on DeviceConnection { nodes { id vendor model } }")
    for query in (inline, spread, inline):  # the third from the validation cache: refused too
        result = schema.execute_sync(query, context_value=None)
        assert result.errors and result.data is None
        # devices 1 + nodes x 50 + three fields x 50 each
        assert result.errors[0].extensions == {"code": "QUERY_TOO_COSTLY", "cost": 201,
                                               "maxCost": 100}


OPERATIONS = [
    "{ me { id email role status createdAt } }",
    "{ wallet { balanceCentavos currency pendingCentavos } }",
    '{ gridPrice(submarket: "SE") { submarket hourStart priceCentavosPerKwh isPeak stale } }',
    '{ gridPrice(chargePointId: "CP-1") { submarket } }',
    "{ alerts(first: 5, status: ALL) { totalCount nodes { id kind severity details } } }",
    "{ transactions(first: 5) { totalCount nodes { id costCentavos meterValues { value } } } }",
    '{ transaction(id: "00000000-0000-0000-0000-000000000000") { id } }',
    '{ v2gSession(id: "00000000-0000-0000-0000-000000000000") { id } }',
    '{ liveV2gSession(chargePointId: "CP-1") { id compensation { status } } }',
    "{ reservations(first: 5) { id status } }",
    '{ device(id: "CP-1") { id location { name latitude } connectors { evseId } } }',
    'mutation { startTransaction(chargePointId: "CP-1", evseId: 1) { accepted status } }',
    'mutation { stopTransaction(id: "nope") { accepted } }',
    'mutation { sendCommand(chargePointId: "CP-1", command: RESET) { status response } }',
    'mutation { sendCommand(chargePointId: "CP-1", command: UNLOCK, body: {connectorId: 1}) '
    "{ status } }",
    'mutation { reserve(chargePointId: "CP-1") { id status accepted expiresAt } }',
    'mutation { cancelReservation(id: "nope") { id } }',
    'mutation { startDischarge(chargePointId: "CP-1", minSoc: 30) { id status } }',
    'mutation { stopDischarge(sessionId: "nope") { id } }',
]


async def test_no_operation_fails_as_a_bug(api: Any) -> None:
    """Every query and mutation, as a user and as an admin, on the fakes: answers or a coded
    error, never INTERNAL (a conversion bug in a resolver)."""
    harness, client, _ = api
    wrong = []
    for operation in OPERATIONS:
        for who in ("user", "admin"):
            body = await _post(client, harness, operation, who)
            codes = [e["extensions"]["code"] for e in body.get("errors") or ()]
            if "INTERNAL" in codes or (body.get("data") is None and not codes):
                wrong.append(f"{who}: {operation} -> {body}")
    assert not wrong, "\n".join(wrong)


async def test_a_bug_is_internal_without_its_message(api: Any) -> None:
    harness, client, _ = api
    harness.commander.fail_next["CP-1"] = RuntimeError("secret detail")
    body = await _post(client, harness, 'mutation { sendCommand(chargePointId: "CP-1", '
                                        "command: RESET) { status } }", "operator")
    assert body["errors"][0]["extensions"] == {"code": "INTERNAL"}
    assert "secret" not in str(body)
