"""Fixtures of the API tests: an app on in-memory fakes, seeded and with tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.api.harness import Api, start_api


@pytest.fixture
async def api() -> AsyncIterator[Api]:
    app = await start_api()
    yield app
    await app.close()
