"""Security profiles 2 and 3 over TLS: server certificate, protocol floor, client certificates."""

from __future__ import annotations

import datetime
import ssl
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidStatus
from websockets.headers import build_authorization_basic

from sigec_actors.ocpp.tls import TlsConfigError, peer_common_name, server_context
from tests.ocpp.gateway.conftest import OCPP, PASSWORD, Harness, MakeGateway, Pki, raw_status

TC086 = {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
         "AES128-GCM-SHA256", "AES256-GCM-SHA384"}


def tls_settings(pki: Pki) -> dict[str, str]:
    return {"tls_cert": str(pki.server_cert), "tls_key": str(pki.server_key),
            "tls_client_ca": str(pki.ca)}


def client_context(pki: Pki, cert: tuple[Path, Path] | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    if cert is not None:
        ctx.load_cert_chain(str(cert[0]), str(cert[1]))
    return ctx


async def tls_gateway(make_gateway: MakeGateway, pki: Pki) -> Harness:
    h = await make_gateway(tls=True, **tls_settings(pki))
    await h.add("CP-1", 1)
    await h.add("CP-2", 2)
    await h.add("CP-3", 3)
    return h


def auth(station: str) -> dict[str, str]:
    return {"Authorization": build_authorization_basic(station, PASSWORD)}


async def test_profile_2_and_3_over_plain_ws_are_refused(make_gateway: MakeGateway,
                                                         pki: Pki) -> None:
    h = await tls_gateway(make_gateway, pki)
    for station in ("CP-2", "CP-3"):
        response = await raw_status(h.port, f"/ocpp/{station}",
                                    authorization=f"Basic {station}")
        assert response.status == 403
    assert h.passwords.verifications == 0  # refused before any argon2 work
    assert h.sessions.sessions == []


async def test_profile_2_over_tls_with_basic_auth(make_gateway: MakeGateway, pki: Pki) -> None:
    h = await tls_gateway(make_gateway, pki)
    async with connect(h.url("CP-2", tls=True), ssl=client_context(pki),
                       subprotocols=[OCPP], additional_headers=auth("CP-2")) as ws:
        tls = ws.transport.get_extra_info("ssl_object")
        assert tls.version() in ("TLSv1.2", "TLSv1.3")
        await ws.send("over tls")
        assert await ws.recv() == "over tls"
    assert h.sessions.last("CP-2").link.security_profile == 2
    with pytest.raises(InvalidStatus) as info:
        async with connect(h.url("CP-2", tls=True), ssl=client_context(pki),
                           subprotocols=[OCPP]):
            pass
    assert info.value.response.status_code == 401


async def test_profile_1_may_also_use_tls(make_gateway: MakeGateway, pki: Pki) -> None:
    h = await tls_gateway(make_gateway, pki)
    async with connect(h.url("CP-1", tls=True), ssl=client_context(pki),
                       subprotocols=[OCPP], additional_headers=auth("CP-1")) as ws:
        assert ws.subprotocol == OCPP


async def test_tls_1_2_client_gets_a_tc086_suite(make_gateway: MakeGateway, pki: Pki) -> None:
    h = await tls_gateway(make_gateway, pki)
    ctx = client_context(pki)
    ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    async with connect(h.url("CP-2", tls=True), ssl=ctx, subprotocols=[OCPP],
                       additional_headers=auth("CP-2")) as ws:
        tls = ws.transport.get_extra_info("ssl_object")
        assert tls.version() == "TLSv1.2"
        assert tls.cipher()[0] in TC086  # the test server key is EC: an ECDHE-ECDSA suite


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion:DeprecationWarning")
async def test_tls_below_1_2_is_refused(make_gateway: MakeGateway, pki: Pki) -> None:
    h = await tls_gateway(make_gateway, pki)
    ctx = client_context(pki)
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client really offer TLS 1.0/1.1
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    # The server answers with an alert or drops the connection (SSLError / reset).
    with pytest.raises((ssl.SSLError, ConnectionResetError)):
        async with connect(h.url("CP-2", tls=True), ssl=ctx, subprotocols=[OCPP],
                           additional_headers=auth("CP-2"), open_timeout=5):
            pass
    assert h.sessions.sessions == []


async def test_profile_3_client_certificate_with_the_identity_as_cn(
        make_gateway: MakeGateway, pki: Pki) -> None:
    h = await tls_gateway(make_gateway, pki)
    ctx = client_context(pki, pki.client("CP-3"))
    async with connect(h.url("CP-3", tls=True), ssl=ctx, subprotocols=[OCPP]) as ws:
        await ws.send("mtls")
        assert await ws.recv() == "mtls"
    assert h.sessions.last("CP-3").link.security_profile == 3
    assert h.passwords.verifications == 0


@pytest.mark.parametrize("cert", ["none", "wrong-cn"])
async def test_profile_3_without_a_matching_certificate_is_refused(
        make_gateway: MakeGateway, pki: Pki, cert: str) -> None:
    h = await tls_gateway(make_gateway, pki)
    ctx = client_context(pki, None if cert == "none" else pki.client("CP-2"))
    with pytest.raises(InvalidStatus) as info:
        async with connect(h.url("CP-3", tls=True), ssl=ctx, subprotocols=[OCPP],
                           additional_headers=auth("CP-3")):
            pass
    assert info.value.response.status_code == 403
    assert h.sessions.sessions == []


async def test_profile_3_certificate_from_another_ca_fails_tls(make_gateway: MakeGateway,
                                                               pki: Pki) -> None:
    h = await tls_gateway(make_gateway, pki)
    ctx = client_context(pki, pki.client("CP-3", other_ca=True))
    # TLS 1.3 delivers the server's "unknown CA" alert after the client has sent its request,
    # so the client sees either a TLS error or a handshake without an HTTP response.
    with pytest.raises((ssl.SSLError, OSError, InvalidHandshake)):
        async with connect(h.url("CP-3", tls=True), ssl=ctx, subprotocols=[OCPP],
                           open_timeout=5) as ws:
            await ws.recv()
    assert h.sessions.sessions == []


def test_missing_tls_files_are_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(TlsConfigError) as info:
        server_context("", "")
    assert info.value.key == "tls_cert"
    with pytest.raises(TlsConfigError):
        server_context(str(tmp_path / "nope.crt"), str(tmp_path / "nope.key"))


async def test_start_with_tls_but_no_certificate_fails(make_gateway: MakeGateway) -> None:
    with pytest.raises(TlsConfigError):
        await make_gateway(tls=True)


def test_rsa_1024_server_key_is_refused(tmp_path: Path) -> None:
    """TC_086: RSA keys must be >= 2048 bits (OpenSSL security level 2)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1).not_valid_before(now)
            .not_valid_after(now + datetime.timedelta(days=1)).sign(key, hashes.SHA256()))
    (tmp_path / "weak.crt").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "weak.key").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    with pytest.raises(TlsConfigError):
        server_context(str(tmp_path / "weak.crt"), str(tmp_path / "weak.key"))


def test_peer_common_name_without_tls_is_none() -> None:
    assert peer_common_name(None) is None
