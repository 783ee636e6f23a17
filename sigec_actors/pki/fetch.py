"""The one HTTP request shape of the PKI's outbound calls (OCSP, CRLs): no redirects, a total
timeout, a bounded body, every failure raised as the caller's own error."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp


async def fetch(url: str, *, timeout_s: float, max_bytes: int, fail: Callable[[str], Exception],
                body: bytes | None = None, content_type: str = "") -> bytes:
    """GET `url` (POST `body` as `content_type` when given) and return the answer's body;
    `fail(reason)` is raised for a non-200 status, a network error or timeout, or a body over
    `max_bytes`."""
    headers = {"Content-Type": content_type} if content_type else {}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)
                                         ) as http, http.request(
                "GET" if body is None else "POST", url, data=body, headers=headers,
                allow_redirects=False) as resp:
            if resp.status != 200:
                raise fail(f"{url} answered HTTP {resp.status}")
            data = await resp.content.read(max_bytes + 1)
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise fail(f"{url}: {type(exc).__name__}") from exc
    if len(data) > max_bytes:
        raise fail(f"{url} answered more than {max_bytes} bytes")
    return data
