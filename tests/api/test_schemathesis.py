"""Property-based run of the OpenAPI document against an in-process app (A7/A8): no 5xx, responses
match their documented schemas, no stack traces or SQL in any body.

Needs the `schemathesis` package (skipped without it).
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest

schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
)

from api.idempotency import HEADER as IDEMPOTENCY_KEY  # noqa: E402
from tests.api.harness import ROLES, Api, start_api  # noqa: E402

EXAMPLES = 8
LEAKS = re.compile(r"Traceback|File \"|asyncpg|SELECT |INSERT |UPDATE |password_hash|\$argon2")


class LiveApi:
    """The app served from its own event loop thread, so sync schemathesis calls can reach it."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.api: Api = self.run(start_api())
        self.base_url = str(self.api.client.make_url("")).rstrip("/")
        self.document: dict[str, Any] = self.run(self.api.json("GET", "/api/v1/openapi.json"))

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def close(self) -> None:
        self.run(self.api.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        self.loop.close()


@pytest.fixture(scope="module")
def live_api() -> Iterator[LiveApi]:
    live = LiveApi()
    yield live
    live.close()


MODES = ("positive", "negative")


@pytest.mark.parametrize("mode", MODES)
def test_api_conforms_and_never_fails(live_api: LiveApi, mode: str) -> None:
    schema = schemathesis.openapi.from_dict(live_api.document)
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy(generation_mode=schemathesis.GenerationMode(mode))

        @given(case=strategy)
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def exercise(case: Any) -> None:
            problem = _check(live_api, case)
            if problem:
                failures.append(problem)

        try:
            exercise()
        except Unsatisfiable:  # nothing to negate: the operation takes no input
            assert mode == "negative", operation.label
    assert not failures, "\n".join(failures[:20])


def _check(live_api: LiveApi, case: Any) -> str | None:
    api = live_api.api
    token = api.token_for(api.ids["admin"], ROLES["admin"])  # fresh: logout may deny-list it
    headers = {"Authorization": f"Bearer {token}"}
    if _positive(case) and IDEMPOTENCY_KEY in (case.headers or {}):
        headers[IDEMPOTENCY_KEY] = str(uuid4())  # generated keys repeat: each case runs anew
    response = case.call(base_url=live_api.base_url, headers=headers, timeout=10)
    if LEAKS.search(response.text):
        return f"leak in {response.status_code} body: {response.text[:300]}"
    checks = [not_a_server_error]
    if not _positive(case) and not _extra_query_unsent(case):
        checks.append(negative_data_rejection)
    if response.status_code < 400 or response.headers.get("Content-Type", "").startswith(
            "application/problem+json"):
        checks += [response_schema_conformance, content_type_conformance]
    try:
        case.validate_response(response, checks=checks)
    except AssertionError as exc:  # schemathesis raises a FailureGroup (an AssertionError)
        return f"{case.method} {case.formatted_path}: {str(exc)[:400]}"
    return None


def _extra_query_unsent(case: Any) -> bool:
    """A negative case whose 'extra' query parameter has a value that serialises to nothing
    (an empty array or object: requests leaves it out of the URL) sends a valid request, yet
    schemathesis still expects a rejection. Seen in CI: GET
    .../grid-price/forecast?hours=38&chargePointId=4XG6&submarket=N answered 200, reported as
    violating additionalProperties. (An empty name is sent, `?=x`, and is refused: kept.)"""
    return any(value in ([], {}, None) for value in (case.query or {}).values())


def _positive(case: Any) -> bool:
    return case.meta is None or case.meta.generation.mode.value != "negative"
