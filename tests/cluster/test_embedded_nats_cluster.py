"""`sigec serve --workers 2` on the embedded NATS: every node connects with its credentials."""

from __future__ import annotations

import asyncio
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

import nats
import nats.errors
import pytest

from .conftest import Serve, start_serve

pytestmark = [pytest.mark.slow, pytest.mark.pg, pytest.mark.nats]


def ready(url: str) -> int:
    with urllib.request.urlopen(url, timeout=5) as response:  # a new connection: any node
        return int(response.status)


async def _bare(port: int) -> None:
    nc = await nats.connect(f"nats://127.0.0.1:{port}", allow_reconnect=False,
                            max_reconnect_attempts=0, connect_timeout=2)
    await nc.close()


def test_nodes_use_the_embedded_nats_credentials_that_a_bare_client_lacks(
        tmp_path: Path, pg_dsn: str, serves: list[Serve]) -> None:
    serve = start_serve(tmp_path, {"DATABASE_URL": pg_dsn, "NATS_URL": ""}, ["--workers", "2"])
    serves.append(serve)
    runtime = serve.wait_ready()
    nats_url = urlsplit(runtime["natsUrl"])
    assert (nats_url.username, nats_url.password) == ("sigec", "***")  # runtime.json hides it
    password = (serve.data_dir / "nats" / "nats_password").read_text().strip()
    assert password not in (serve.data_dir / "runtime.json").read_text()
    # /health/ready flushes NATS: each node answers 200 only once connected with the password
    assert all(ready(f"{serve.http}/health/ready") == 200 for _ in range(10))
    assert password not in serve.log()
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        asyncio.run(_bare(nats_url.port or 0))
