"""The REST client against a fake API on loopback: login, snapshot, actions, 401 renewal, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sigec_actors.console import tree as t
from sigec_actors.console.client import (
    ApiProblem,
    AuthFailed,
    ConsoleClient,
    ConsoleError,
    Credentials,
    NoServer,
    Unreachable,
    server_url,
)
from tests.console.fake_server import EMAIL, FakeApi
from tests.helpers.server import free_port


def test_server_url_prefers_the_flag(tmp_path: Path) -> None:
    assert server_url("http://h:1/", tmp_path) == "http://h:1"


def test_server_url_reads_runtime_json(tmp_path: Path) -> None:
    (tmp_path / "runtime.json").write_text(json.dumps(
        {"httpUrl": "http://127.0.0.1:8080", "ocppUrl": "ws://127.0.0.1:9000", "pid": 1}))
    assert server_url(None, tmp_path) == "http://127.0.0.1:8080"


@pytest.mark.parametrize(("content", "reason"), [
    (None, "missing"), ("{not json", "unreadable"), ('{"pid": 1}', "no httpUrl")])
def test_server_url_without_a_server(tmp_path: Path, content: str | None, reason: str) -> None:
    if content is not None:
        (tmp_path / "runtime.json").write_text(content)
    with pytest.raises(NoServer, match=reason) as info:
        server_url(None, tmp_path)
    assert info.value.exit_code == 3 and "--url" in str(info.value)


def test_credentials_never_show_the_password() -> None:
    assert "hunter2" not in repr(Credentials("a@b", "hunter2"))


async def test_snapshot_logs_in_once_and_decodes(fake: FakeApi, creds: Credentials) -> None:
    async with ConsoleClient(fake.url, creds) as client:
        root = await client.snapshot()
        await client.snapshot()
    assert root.path == "/director" and t.find(root, "/node-2/charge-points/CP-002")
    assert fake.logins == 1
    assert fake.calls[0] == ("login", EMAIL, None) and fake.calls[-1][0] == "logout"


async def test_restart_stop_and_command_reach_the_server(fake: FakeApi,
                                                         creds: Credentials) -> None:
    fake.answers["reset"] = {"status": "Scheduled"}
    async with ConsoleClient(fake.url, creds) as client:
        await client.restart("/node-1/charge-points/CP-001")
        await client.stop("/node-2/v2g")
        answer = await client.command(t.build_command("reset-onidle", "CP-002"))
    assert answer == {"status": "Scheduled"}
    assert fake.actions() == [("restart", "/node-1/charge-points/CP-001", None),
                              ("stop", "/node-2/v2g", None),
                              ("command", "CP-002/reset", {"type": "OnIdle"})]


async def test_expired_token_is_renewed_once(fake: FakeApi, creds: Credentials) -> None:
    async with ConsoleClient(fake.url, creds) as client:
        await client.snapshot()
        fake.expire_tokens()
        await client.snapshot()
        assert (fake.logins, fake.refreshes) == (1, 1)
        fake.expire_tokens(refresh_too=True)
        await client.restart("/node-1")
        assert (fake.logins, fake.refreshes) == (2, 1)


async def test_missing_actor_is_a_404_problem(fake: FakeApi, creds: Credentials) -> None:
    async with ConsoleClient(fake.url, creds) as client:
        with pytest.raises(ApiProblem) as info:
            await client.stop("/node-9/gone")
    assert info.value.status == 404 and info.value.detail == "no actor at /node-9/gone"
    assert info.value.exit_code == 1


async def test_server_problem_keeps_title_and_detail(fake: FakeApi, creds: Credentials) -> None:
    fake.fail_with = (409, "Station offline", "CP-002 is not connected")
    async with ConsoleClient(fake.url, creds) as client:
        with pytest.raises(ApiProblem, match="409 Station offline: CP-002 is not connected"):
            await client.command(t.build_command("trigger-boot", "CP-002"))


async def test_wrong_password_is_auth_failed(fake: FakeApi) -> None:
    async with ConsoleClient(fake.url, Credentials(EMAIL, "wrong")) as client:
        with pytest.raises(AuthFailed) as info:
            await client.snapshot()
    assert info.value.exit_code == 2 and "wrong email or password" in str(info.value)
    assert "wrong" not in str(info.value).replace("wrong email", "")


async def test_unreachable_server(creds: Credentials) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    async with ConsoleClient(url, creds, timeout_s=2) as client:
        with pytest.raises(Unreachable) as info:
            await client.snapshot()
    assert info.value.exit_code == 3 and url in str(info.value)


async def test_foreign_document_is_a_console_error(fake: FakeApi, creds: Credentials) -> None:
    fake.snapshot = {"items": []}
    async with ConsoleClient(fake.url, creds) as client:
        with pytest.raises(ConsoleError, match="unexpected actor tree"):
            await client.snapshot()
