"""Fixtures: the fake REST API served from its own thread and event loop on loopback."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator

import pytest

from sigec_actors.console.client import Credentials
from tests.console.fake_server import EMAIL, PASSWORD, FakeApi, start_fake


@pytest.fixture
def fake() -> Iterator[FakeApi]:
    """A FakeApi on a free port; usable from sync tests (asyncio.run) and async ones alike."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    fake_api, runner = asyncio.run_coroutine_threadsafe(start_fake(), loop).result(5)
    yield fake_api
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


@pytest.fixture
def creds() -> Credentials:
    return Credentials(EMAIL, PASSWORD)
