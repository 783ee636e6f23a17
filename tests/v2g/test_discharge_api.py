"""POST /api/v1/v2g/discharge/start on the in-memory API: `until` must carry a UTC offset and
lie ahead (one in the past used to be accepted and end the session at once)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from tests.api.harness import Api, start_api

URL = "/api/v1/v2g/discharge/start"


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    api = await start_api()
    yield api
    await api.close()


async def test_until_must_be_ahead_and_carry_an_offset(api: Api) -> None:
    now = api.clock()
    body = {"chargePointId": "CP-1", "minSoc": 60}
    for until in (now - timedelta(minutes=1), now):
        problem = await api.json("POST", URL, "user", status=422,
                                 json={**body, "until": until.isoformat()})
        assert problem["field"] == "until", problem
    naive = (now + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    problem = await api.json("POST", URL, "user", status=422, json={**body, "until": naive})
    assert problem["field"] == "until", problem
    # ahead: through to the session service (the in-memory one knows no transaction: 409)
    ahead = (now + timedelta(hours=1)).isoformat()
    await api.json("POST", URL, "user", status=409, json={**body, "until": ahead})
    await api.json("POST", URL, "user", status=409, json=body)
