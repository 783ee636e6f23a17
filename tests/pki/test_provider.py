"""The HTTP contract provider against a loopback eMSP: the request is forwarded as JSON and the
answer relayed; a failing or garbled provider is a Failed answer, never an exception."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from sigec_actors.ocpp.generated.v201 import (
    CertificateActionEnum,
    Get15118EVCertificateRequest,
    Iso15118EVCertificateStatusEnum,
)
from sigec_actors.pki.provider import HttpContractProvider

REQUEST = Get15118EVCertificateRequest(iso15118_schema_version="urn:iso:15118:2:2013:MsgDef",
                                       action=CertificateActionEnum.INSTALL,
                                       exi_request="RVhJ")


@pytest.fixture
async def emsp() -> AsyncIterator[tuple[str, list[dict[str, Any]], dict[str, Any]]]:
    seen: list[dict[str, Any]] = []
    behaviour: dict[str, Any] = {"status": 200, "body": {"status": "Accepted",
                                                         "exiResponse": "UkVT"}}

    async def handle(request: web.Request) -> web.Response:
        seen.append(await request.json())
        body = behaviour["body"]
        text = body if isinstance(body, str) else json.dumps(body)
        return web.Response(status=behaviour["status"], text=text,
                            content_type="application/json")

    app = web.Application()
    app.router.add_post("/contracts", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/contracts", seen, behaviour
    await runner.cleanup()


async def test_forwarded_and_relayed(emsp: tuple[str, list[dict[str, Any]], dict[str, Any]]
                                     ) -> None:
    url, seen, behaviour = emsp
    provider = HttpContractProvider(url, timeout_s=2.0)
    answer = await provider.certificate("CP-1", REQUEST)
    assert answer.status is Iso15118EVCertificateStatusEnum.ACCEPTED
    assert answer.exi_response == "UkVT"
    assert seen == [{"iso15118SchemaVersion": "urn:iso:15118:2:2013:MsgDef",
                     "action": "Install", "exiRequest": "RVhJ", "stationId": "CP-1"}]
    for status, body in ((502, {"status": "Accepted"}), (200, "not json"),
                         (200, {"status": "Maybe"})):
        behaviour.update(status=status, body=body)
        failed = await provider.certificate("CP-1", REQUEST)
        assert failed.status is Iso15118EVCertificateStatusEnum.FAILED, (status, body)
        assert failed.status_info is not None


async def test_an_unreachable_provider_is_failed() -> None:
    provider = HttpContractProvider("http://127.0.0.1:9/contracts", timeout_s=2.0)
    answer = await provider.certificate("CP-1", REQUEST)
    assert answer.status is Iso15118EVCertificateStatusEnum.FAILED
