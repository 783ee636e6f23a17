"""NATS credentials: the embedded server requires its generated ones; external ones are used."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import socket
import stat
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import nats
import nats.errors
import nkeys
import pytest
from structlog.testing import capture_logs

from sigec_actors.adapters.nats_bus import connect, credential_options
from sigec_actors.bootstrap import start_data_plane
from sigec_actors.config import load_settings
from sigec_actors.dsn import redact
from sigec_actors.embedded import EmbeddedNats
from sigec_actors.errors import ConfigError
from tests.helpers.server import free_port

pytestmark = [pytest.mark.nats, pytest.mark.pg]


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[EmbeddedNats]:
    server = EmbeddedNats(tmp_path / "nats")
    server.start()
    yield server
    server.stop()


async def _bare(url: str) -> nats.aio.client.Client:
    """A client with no credentials and no retries (what an attacker on loopback has)."""
    return await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0,
                              connect_timeout=2)


async def _round_trip(nc: nats.aio.client.Client) -> bytes:
    async def echo(msg: nats.aio.msg.Msg) -> None:
        await msg.respond(b"pong:" + msg.data)

    sub = await nc.subscribe("sigec.test.echo", cb=echo)
    try:
        return (await nc.request("sigec.test.echo", b"x", timeout=2)).data
    finally:
        await sub.unsubscribe()


async def test_embedded_nats_refuses_a_client_without_its_credentials(
        embedded: EmbeddedNats) -> None:
    assert embedded.url is not None
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await _bare(f"nats://127.0.0.1:{embedded.port}")
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await _bare(f"nats://{EmbeddedNats.USER}:guessed@127.0.0.1:{embedded.port}")
    nc = await connect(embedded.url)
    try:
        assert await _round_trip(nc) == b"pong:x"
    finally:
        await nc.close()


def test_embedded_nats_credentials_are_private_and_kept(embedded: EmbeddedNats) -> None:
    url = embedded.url
    assert url is not None
    password = urlsplit(url).password
    assert password and len(password) >= 32
    assert embedded.password_file.read_text().strip() == password
    for path in (embedded.password_file, embedded.config_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert password in embedded.config_file.read_text()
    pid = int(embedded.pid_file.read_text())
    assert password not in Path(f"/proc/{pid}/cmdline").read_bytes().decode()  # not in ps
    assert redact(url) == f"nats://{EmbeddedNats.USER}:***@127.0.0.1:{embedded.port}"
    embedded.stop()
    assert urlsplit(embedded.start()).password == password  # the same one after a restart


async def test_data_plane_uses_the_user_and_password_of_an_external_url(
        embedded: EmbeddedNats, migrated_pg_dsn: str, tmp_path: Path) -> None:
    assert embedded.url is not None
    settings = load_settings({"SIGEC_DATA_DIR": str(tmp_path / "data"),
                              "DATABASE_URL": migrated_pg_dsn, "NATS_URL": embedded.url})
    with capture_logs() as logs:
        services = await start_data_plane(settings)
    try:
        assert services.embedded_nats is None  # the URL's server, not a new embedded one
        assert await _round_trip(services.require_nats()) == b"pong:x"
        assert not [e for e in logs if e["event"] == "nats_without_credentials"]
    finally:
        await services.close()


async def test_an_external_url_without_credentials_is_warned_about(
        nats_url: str, migrated_pg_dsn: str, tmp_path: Path) -> None:
    bare = urlsplit(nats_url)
    if bare.username:
        pytest.skip("NATS_URL carries credentials")
    settings = load_settings({"SIGEC_DATA_DIR": str(tmp_path), "DATABASE_URL": migrated_pg_dsn,
                              "NATS_URL": nats_url})
    with capture_logs() as logs:
        services = await start_data_plane(settings)
    await services.close()
    warnings = [e for e in logs if e["event"] == "nats_without_credentials"]
    assert len(warnings) == 1 and warnings[0]["log_level"] == "warning"


@contextlib.contextmanager
def _server_with(tmp_path: Path, authorization: str = "", config: str = "") -> Iterator[int]:
    """A nats-server (started here, stopped by its pid) whose config has `authorization`, or
    is `config`."""
    conf = tmp_path / "auth.conf"
    conf.write_text(config or f"authorization {{\n{authorization}\n}}\n")
    port = free_port()
    binary = Path(sys.executable).parent / "nats-server"
    cmd = [str(binary), "-c", str(conf), "-a", "127.0.0.1", "-p", str(port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(5)


@pytest.fixture
async def token_port(tmp_path: Path) -> AsyncIterator[int]:
    with _server_with(tmp_path, '  token: "s3cr3t-token"') as port:
        yield port


async def test_a_token_in_the_url_is_used_and_redacted(token_port: int) -> None:
    with pytest.raises(nats.errors.Error, match="Authorization Violation"):
        await _bare(f"nats://127.0.0.1:{token_port}")
    url = f"nats://s3cr3t-token@127.0.0.1:{token_port}"
    nc = await connect(url)
    try:
        assert await _round_trip(nc) == b"pong:x"
    finally:
        await nc.close()
    assert redact(url) == f"nats://***@127.0.0.1:{token_port}"


async def test_an_nkey_seed_file_from_the_config_is_used(tmp_path: Path) -> None:
    seed = nkeys.encode_seed(os.urandom(32), nkeys.PREFIX_BYTE_USER)
    public = nkeys.from_seed(bytearray(seed)).public_key.decode()
    seed_file = tmp_path / "user.nk"
    seed_file.write_bytes(seed)
    settings = load_settings({"SIGEC_NATS__NKEY_SEED_FILE": str(seed_file)})
    assert settings.nats.nkey_seed_file == str(seed_file)
    with _server_with(tmp_path, f'  users = [{{ nkey: "{public}" }}]') as port:
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await _bare(f"nats://127.0.0.1:{port}")
        nc = await connect(f"nats://127.0.0.1:{port}",
                           nkey_seed_file=settings.nats.nkey_seed_file)
        try:
            assert await _round_trip(nc) == b"pong:x"
        finally:
            await nc.close()


def test_credential_files_are_checked_before_connecting(tmp_path: Path) -> None:
    creds = tmp_path / "user.creds"
    creds.write_text("-----BEGIN NATS USER JWT-----\n")
    assert credential_options(creds_file=str(creds)) == {"user_credentials": str(creds)}
    assert credential_options() == {}
    with pytest.raises(ConfigError, match="cannot read") as info:
        credential_options(nkey_seed_file=str(tmp_path / "missing.nk"))
    assert info.value.key == "nats.nkey_seed_file"
    with pytest.raises(ConfigError, match="not both"):
        credential_options(creds_file=str(creds), nkey_seed_file=str(creds))


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _keys(prefix: int) -> tuple[bytes, nkeys.KeyPair, str]:
    seed = nkeys.encode_seed(os.urandom(32), prefix)
    pair = nkeys.from_seed(bytearray(seed))
    return seed, pair, pair.public_key.decode()


def _jwt(issuer: nkeys.KeyPair, subject: str, claims: dict[str, object]) -> str:
    """A NATS JWT (v2) for `subject` signed by `issuer` (what `nsc` writes)."""
    body: dict[str, object] = {"iat": int(time.time()), "iss": issuer.public_key.decode(),
                               "name": subject[:8], "sub": subject, "nats": claims}
    body["jti"] = base64.b32encode(hashlib.sha256(
        json.dumps(body, sort_keys=True).encode()).digest()).decode().rstrip("=")
    signed = (f"{_b64(json.dumps({'typ': 'JWT', 'alg': 'ed25519-nkey'}).encode())}."
              f"{_b64(json.dumps(body).encode())}")
    return f"{signed}.{_b64(issuer.sign(signed.encode()))}"


def _operator_mode(tmp_path: Path) -> tuple[str, Path]:
    """A decentralized-auth server config (operator, one account) and a user's .creds file."""
    _, operator, operator_pub = _keys(nkeys.PREFIX_BYTE_OPERATOR)
    _, account, account_pub = _keys(nkeys.PREFIX_BYTE_ACCOUNT)
    user_seed, _, user_pub = _keys(nkeys.PREFIX_BYTE_USER)
    unlimited = {"subs": -1, "data": -1, "payload": -1, "imports": -1, "exports": -1,
                 "wildcards": True, "conn": -1, "leaf": -1}
    operator_jwt = _jwt(operator, operator_pub, {"type": "operator", "version": 2})
    account_jwt = _jwt(operator, account_pub,
                       {"limits": unlimited, "type": "account", "version": 2})
    user_jwt = _jwt(account, user_pub, {"pub": {}, "sub": {}, "subs": -1, "data": -1,
                                        "payload": -1, "type": "user", "version": 2})
    creds = tmp_path / "user.creds"
    creds.write_text(f"-----BEGIN NATS USER JWT-----\n{user_jwt}\n------END NATS USER JWT------"
                     f"\n\n-----BEGIN USER NKEY SEED-----\n{user_seed.decode()}\n"
                     "------END USER NKEY SEED------\n")
    config = (f'operator: "{operator_jwt}"\nresolver: MEMORY\n'
              f'resolver_preload: {{\n  {account_pub}: "{account_jwt}"\n}}\n')
    return config, creds


@contextlib.contextmanager
def _credentials_file(tmp_path: Path, kind: str) -> Iterator[tuple[int, dict[str, str]]]:
    """A server that admits only the holder of a file, and the setting naming that file."""
    if kind == "creds":
        config, creds = _operator_mode(tmp_path)
        with _server_with(tmp_path, config=config) as port:
            yield port, {"SIGEC_NATS__CREDS_FILE": str(creds)}
        return
    seed, _, public = _keys(nkeys.PREFIX_BYTE_USER)
    seed_file = tmp_path / "user.nk"
    seed_file.write_bytes(seed)
    with _server_with(tmp_path, f'  users = [{{ nkey: "{public}" }}]') as port:
        yield port, {"SIGEC_NATS__NKEY_SEED_FILE": str(seed_file)}


@pytest.mark.parametrize("kind", ["creds", "nkey"])
async def test_data_plane_connects_with_the_configured_credentials_file(
        kind: str, migrated_pg_dsn: str, tmp_path: Path) -> None:
    with _credentials_file(tmp_path, kind) as (port, setting):
        url = f"nats://127.0.0.1:{port}"
        with pytest.raises(nats.errors.Error, match="Authorization Violation"):
            await _bare(url)
        settings = load_settings({"SIGEC_DATA_DIR": str(tmp_path / "data"),
                                  "DATABASE_URL": migrated_pg_dsn, "NATS_URL": url, **setting})
        with capture_logs() as logs:
            services = await start_data_plane(settings)
        try:
            assert await _round_trip(services.require_nats()) == b"pong:x"
            assert not [e for e in logs if e["event"] == "nats_without_credentials"]
        finally:
            await services.close()
