"""Requests to the test API from other loopback source addresses (127.0.0.x), as other clients."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.api.harness import Api


async def from_source(api: Api, source: str, method: str, path: str,
                      **kwargs: Any) -> tuple[int, dict[str, str], Any]:
    """(status, headers, JSON body) of one request sent from `source` to the API."""
    connector = aiohttp.TCPConnector(local_addr=(source, 0))
    async with aiohttp.ClientSession(connector=connector) as http, http.request(
            method, str(api.client.make_url(path)), **kwargs) as resp:
        return resp.status, dict(resp.headers), await resp.json(content_type=None)
