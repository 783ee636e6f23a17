"""A database outage under a request answers 503 with Retry-After (the client retries), never
500; a PostgreSQL error that is not an outage stays 500 (found by the fault suite's goal F1:
webhooks whose connection was terminated answered 500)."""

from __future__ import annotations

import asyncpg
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from api.problems import problem_middleware


async def _status_of(exc: BaseException) -> tuple[int, str | None, dict[str, object]]:
    async def fail(request: web.Request) -> web.Response:
        raise exc

    app = web.Application(middlewares=[problem_middleware])
    app.router.add_post("/x", fail)
    async with TestClient(TestServer(app)) as client:
        resp = await client.post("/x")
        return resp.status, resp.headers.get("Retry-After"), await resp.json(
            content_type=None)


@pytest.mark.parametrize("exc", [
    asyncpg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
    asyncpg.AdminShutdownError("terminating connection due to administrator command"),
    asyncpg.CannotConnectNowError("the database system is starting up"),
    asyncpg.TooManyConnectionsError("sorry, too many clients already"),
    asyncpg.InterfaceError("cannot call Connection.execute(): connection has been released"
                           " back to the pool"),
    asyncpg.InternalClientError("cannot switch to state 12; another operation (2) is in"
                                " progress"),
    ConnectionRefusedError(111, "Connection refused"),
    TimeoutError(),
], ids=lambda exc: type(exc).__name__)
async def test_a_database_outage_is_503_with_retry_after(exc: BaseException) -> None:
    status, retry_after, body = await _status_of(exc)
    assert (status, retry_after, body["status"]) == (503, "1", 503), body


async def test_a_postgres_error_that_is_no_outage_stays_500() -> None:
    status, retry_after, _ = await _status_of(asyncpg.UniqueViolationError("duplicate key"))
    assert (status, retry_after) == (500, None)
