"""Get15118EVCertificate through the offline provider with real ISO 15118-2 EXI (the EXIficient
jar): a simulated EV's signed CertificateInstallationReq goes in through the station path, the
CertificateInstallationRes that comes back is read as the EV would read it, and the contract
it carries then authorizes through Plug & Charge."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

from sigec_actors.config import load_settings
from sigec_actors.ocpp.generated.v201 import AuthorizationStatusEnum as Auth
from sigec_actors.ocpp.generated.v201 import (
    CertificateActionEnum,
    Get15118EVCertificateRequest,
    Iso15118EVCertificateStatusEnum,
)
from sigec_actors.pki.exi.codec import ISO2_MSG_DEF, ExiCodec, JarExiCodec, default_jar
from sigec_actors.pki.provider import OfflineContractProvider
from sigec_actors.pki.wiring import PkiWiring
from sigec_actors.testing.pki import InMemoryCertificates, TokenTable
from tests.charge_point.test_inbound import booted
from tests.pki.ev import (
    Ev,
    chain_pem,
    check_signature,
    decrypt_contract_key,
    der_b64,
    installation_req,
    signed_request,
)
from tests.pki.test_station_handlers import World, _authorize, _token, world

__all__ = ["world"]


@pytest.fixture
def jar() -> None:
    assert default_jar().is_file(), f"no EXI codec jar at {default_jar()}: run `make exi-codec`"


def _public_der(key: ec.EllipticCurvePublicKey | PublicKeyTypes) -> bytes:
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


async def _get(world: World, action: str, exi: bytes | str,
               schema: str = ISO2_MSG_DEF) -> dict[str, Any]:
    if world.link is None:
        world.link, world.sink = await booted(world.h)
    # h.call settles on an idle loop; the codec is a real process, so wait for the answer
    mid = world.h.new_id()
    await world.sink.on_frame(msgspec.json.encode([2, mid, "Get15118EVCertificate", {
        "iso15118SchemaVersion": schema, "action": action,
        "exiRequest": exi if isinstance(exi, str) else base64.b64encode(exi).decode()}]))
    for _ in range(1200):  # a deadline (2 minutes on a loaded machine), not a timing check
        if world.link.replies(mid):
            break
        await asyncio.sleep(0.1)
    [answer] = world.link.replies(mid)
    assert answer[0] == 3, answer
    result: dict[str, Any] = answer[2]
    return result


async def _read(codec: ExiCodec, answer: dict[str, Any], name: str
                ) -> tuple[dict[str, Any], dict[str, Any]]:
    assert answer["status"] == "Accepted", answer
    v2g = (await codec.decode(base64.b64decode(answer["exiResponse"]), ISO2_MSG_DEF))[
        "V2G_Message"]
    body: dict[str, Any] = v2g["Body"][name]
    header: dict[str, Any] = v2g["Header"]
    return header, body


def offline(world: World) -> tuple[OfflineContractProvider, ExiCodec]:
    """The world's offline provider and its (real) codec."""
    provider = world.pki.provider
    codec = world.pki.exi
    assert isinstance(provider, OfflineContractProvider) and codec is not None
    return provider, codec


@pytest.mark.usefixtures("jar")
async def test_installation_res_is_signed_encrypted_and_authorizes(world: World) -> None:
    provider, codec = offline(world)
    ev = Ev.make()
    started = time.monotonic()
    request = await installation_req(codec, ev, provider.cps.v2g_root)
    answer = await _get(world, "Install", request)
    elapsed = time.monotonic() - started
    header, body = await _read(codec, answer, "CertificateInstallationRes")
    assert body["ResponseCode"] == "OK" and header["SessionID"] == "0A0B0C0D0E0F1011"

    # the provisioning leaf chains to the CPS V2G root and signed the four Id'd elements
    [leaf, *subs] = [base64.b64decode(c) for c in [
        body["SAProvisioningCertificateChain"]["Certificate"],
        *body["SAProvisioningCertificateChain"]["SubCertificates"]["Certificate"]]]
    leaf_cert = x509.load_der_x509_certificate(leaf)
    sub_cert = x509.load_der_x509_certificate(subs[0])
    leaf_cert.verify_directly_issued_by(sub_cert)
    sub_cert.verify_directly_issued_by(provider.cps.v2g_root)
    await check_signature(codec, header, body, leaf_cert)

    # the contract key opens with the OEM provisioning key and matches the contract certificate
    contract_pem = chain_pem(body["ContractSignatureCertChain"])
    contract = x509.load_pem_x509_certificate(contract_pem.encode())
    key = decrypt_contract_key(ev.oem_key, body)
    assert _public_der(key.public_key()) == _public_der(contract.public_key())
    emaid = body["eMAID"]["value"]
    assert contract.subject.get_attributes_for_oid(x509.oid.NameOID.COMMON_NAME)[0].value == emaid
    stored = world.store.contracts[emaid]
    assert stored.certificate_pem == contract.public_bytes(serialization.Encoding.PEM).decode()
    assert stored.private_key_enc is not None and b"PRIVATE" not in stored.private_key_enc

    # that chain authorizes through Plug & Charge as any contract does
    world.tokens.statuses[emaid] = Auth.ACCEPTED
    ok = await _authorize(world, {"idToken": _token(emaid), "certificate": contract_pem})
    assert ok["certificateStatus"] == "Accepted"
    print(f"\nGet15118EVCertificate (EV encode + station path + provider), first call "
          f"(starts Java): {elapsed:.2f} s")

    # the same car installs again: the same eMAID, a new key; then the EV updates the contract
    started = time.monotonic()
    again = await _read(codec, await _get(world, "Install", await installation_req(
        codec, ev, provider.cps.v2g_root)), "CertificateInstallationRes")
    print(f"Get15118EVCertificate, warm: {time.monotonic() - started:.2f} s")
    assert again[1]["eMAID"]["value"] == emaid
    update = await signed_request(codec, "CertificateUpdateReq", {
        "Id": "ID2", "ContractSignatureCertChain": body["ContractSignatureCertChain"],
        "eMAID": emaid, "ListOfRootCertificateIDs": {"RootCertificateID": [{
            "X509IssuerName": provider.cps.v2g_root.subject.rfc4514_string(),
            "X509SerialNumber": provider.cps.v2g_root.serial_number}]}}, key, "0A0B0C0D0E0F1011")
    u_header, u_body = await _read(codec, await _get(world, "Update", update),
                                   "CertificateUpdateRes")
    assert u_body["ResponseCode"] == "OK" and u_body["eMAID"]["value"] == emaid
    await check_signature(codec, u_header, u_body, leaf_cert)
    new_key = decrypt_contract_key(key, u_body)  # encrypted for the old contract key
    new_contract = x509.load_pem_x509_certificate(
        chain_pem(u_body["ContractSignatureCertChain"]).encode())
    assert _public_der(new_key.public_key()) == _public_der(new_contract.public_key())


@pytest.mark.usefixtures("jar")
async def test_garbage_and_forged_requests_are_failed(world: World) -> None:
    provider, codec = offline(world)
    garbage = await _get(world, "Install", os.urandom(64))
    assert garbage["status"] == "Failed" and garbage["statusInfo"]["reasonCode"] == "InvalidExi"
    not_base64 = await _get(world, "Install", "not base64!")
    assert not_base64["statusInfo"]["reasonCode"] == "InvalidExi"
    ev = Ev.make()
    iso20 = await _get(world, "Install", await installation_req(codec, ev, provider.cps.v2g_root),
                       schema="urn:iso:std:iso:15118:-20:CommonMessages")
    assert iso20["statusInfo"]["reasonCode"] == "SchemaNotSupported"
    stranger = Ev.make()
    # an OEM certificate swapped in after signing: the signature no longer matches
    forged = await signed_request(codec, "CertificateInstallationReq", {
        "Id": "ID1", "OEMProvisioningCert": der_b64(ev.oem_cert),
        "ListOfRootCertificateIDs": {"RootCertificateID": [{
            "X509IssuerName": "CN=x", "X509SerialNumber": 1}]}}, stranger.oem_key, "00")
    refused = await _get(world, "Install", forged)
    assert refused["status"] == "Failed", refused
    assert refused["statusInfo"]["reasonCode"] == "InvalidRequest"
    # an installation request sent as an Update is not a CertificateUpdateReq
    wrong = await _get(world, "Update", await installation_req(codec, ev, provider.cps.v2g_root))
    assert wrong["statusInfo"]["reasonCode"] == "InvalidRequest"
    assert world.store.contracts == {}


@pytest.mark.parametrize(("jar", "java", "says"), [
    ("missing.jar", "java", "make exi-codec"),
    (None, "no-such-java-here", "Java not found")])
async def test_without_java_or_the_jar_the_answer_is_failed_with_the_reason(
        world: World, tmp_path: Path, jar: str | None, java: str, says: str) -> None:
    provider = world.pki.provider
    assert isinstance(provider, OfflineContractProvider)
    codec = JarExiCodec(tmp_path / jar if jar else None, java=java)
    offline = OfflineContractProvider(
        provider._ca, world.store, provider._now, emaid_prefix="BRSGC", key_password=b"pw",
        codec=codec, cps=provider.cps)
    request = Get15118EVCertificateRequest(
        iso15118_schema_version=ISO2_MSG_DEF, action=CertificateActionEnum.INSTALL,
        exi_request=base64.b64encode(b"\x80\x98\x02").decode())
    for _ in range(2):  # the reason is given each time (logged once)
        answer = await offline.certificate("CP-1", request)
        assert answer.status is Iso15118EVCertificateStatusEnum.FAILED
        assert answer.status_info is not None
        assert answer.status_info.reason_code == "ExiCodecUnavailable"
        assert says in (answer.status_info.additional_info or "")
    await codec.close()


@pytest.mark.usefixtures("jar")
async def test_the_codec_round_trips_a_request_and_survives_cancel_and_close() -> None:
    codec = JarExiCodec()
    ev = Ev.make()
    element = {"Id": "ID1", "OEMProvisioningCert": der_b64(ev.oem_cert),
               "ListOfRootCertificateIDs": {"RootCertificateID": [
                   {"X509IssuerName": "CN=SIGEC-VE Test V2G Root", "X509SerialNumber": 7}]}}
    message = {"V2G_Message": {"Header": {"SessionID": "0102030405060708"},
                               "Body": {"CertificateInstallationReq": element}}}
    try:
        started = time.monotonic()
        # a caller cancelled while Java starts (a handler's deadline) leaves the start going on
        first = asyncio.ensure_future(codec.encode(message, ISO2_MSG_DEF))
        await asyncio.sleep(0.5)
        first.cancel()
        with pytest.raises(asyncio.CancelledError):
            await first
        exi = await codec.encode(message, ISO2_MSG_DEF)
        cold = time.monotonic() - started
        # a caller cancelled while its request is in flight: the next caller gets its own answer
        second = asyncio.ensure_future(codec.decode(exi, ISO2_MSG_DEF))
        for _ in range(3):
            await asyncio.sleep(0)
        second.cancel()
        with pytest.raises(asyncio.CancelledError):
            await second
        assert await codec.encode(message, ISO2_MSG_DEF) == exi
        started = time.monotonic()
        assert await codec.decode(exi, ISO2_MSG_DEF) == message
        print(f"\nEXI encode (starts Java) {cold:.2f} s, decode {time.monotonic() - started:.2f} s,"
              f" {len(exi)} bytes")
        await codec.close()
        assert await codec.encode(message, ISO2_MSG_DEF) == exi  # started again, same bytes
    finally:
        await codec.close()


@pytest.mark.usefixtures("jar")
async def test_exi_prestart_starts_the_codec_with_the_node(tmp_path: Path) -> None:
    """pki.exi_prestart: Java is up before the first EV asks, so its request does not wait for
    the JVM (off by default: nothing starts until a request needs the codec)."""
    settings = load_settings(env={}, overrides={"server.data_dir": str(tmp_path),
                                                "pki.exi_prestart": True})
    pki = PkiWiring(settings, InMemoryCertificates(), TokenTable({}), lambda: _never_sent)
    assert isinstance(pki.exi, JarExiCodec)
    pki.start()
    try:
        for _ in range(600):  # Java takes 5-15 s to start on a loaded 2-core machine
            if pki.exi.running:
                break
            await asyncio.sleep(0.1)
        assert pki.exi.running
    finally:
        await pki.stop()
    assert not pki.exi.running


async def _never_sent(station_id: str, request: msgspec.Struct) -> msgspec.Struct:
    raise AssertionError("not sent")


class CountingCodec:
    """The ExiCodec port over a real codec, counting its round trips (calls)."""

    def __init__(self, codec: JarExiCodec) -> None:
        self.codec = codec
        self.calls = 0

    async def encode(self, message: dict[str, Any], namespace: str) -> bytes:
        self.calls += 1
        return await self.codec.encode(message, namespace)

    async def encode_many(self, messages: Sequence[tuple[dict[str, Any], str]]
                          ) -> list[bytes]:
        self.calls += 1
        return await self.codec.encode_many(messages)

    async def decode(self, exi: bytes, namespace: str) -> dict[str, Any]:
        self.calls += 1
        return await self.codec.decode(exi, namespace)

    async def close(self) -> None:
        await self.codec.close()

    async def warm(self) -> None:
        await self.codec.warm()


@pytest.mark.usefixtures("jar")
async def test_a_warm_request_takes_five_round_trips_and_builds_no_jaxb_context(
        world: World) -> None:
    """Speed without timing: the jar alone builds a JAXB context for every encode and decode
    (about 0.1 s each) and the provider used to make 9 round trips; now a warm request makes 5
    (decode; the request element and its SignedInfo; the 4 signed elements; our SignedInfo;
    the message) and builds no context."""
    provider = world.pki.provider
    assert isinstance(provider, OfflineContractProvider)
    real = JarExiCodec()
    codec = CountingCodec(real)
    offline = OfflineContractProvider(
        provider._ca, world.store, provider._now, emaid_prefix="BRSGC", key_password=b"pw",
        codec=codec, cps=provider.cps)
    try:
        ev = Ev.make()
        requests = [Get15118EVCertificateRequest(
            iso15118_schema_version=ISO2_MSG_DEF, action=CertificateActionEnum.INSTALL,
            exi_request=base64.b64encode(await installation_req(
                real, ev, provider.cps.v2g_root)).decode()) for _ in range(2)]
        first = await offline.certificate("CP-1", requests[0])  # builds what it needs
        assert first.status is Iso15118EVCertificateStatusEnum.ACCEPTED, first
        built = (await real.stats())["jaxbContexts"]
        codec.calls = 0
        again = await offline.certificate("CP-1", requests[1])
        assert again.status is Iso15118EVCertificateStatusEnum.ACCEPTED, again
        assert codec.calls == 5
        assert (await real.stats())["jaxbContexts"] == built
    finally:
        await real.close()
