"""The V2G sub-CA (issue 22): SignCertificate of type V2GCertificate signed by CPO sub-CA 2 and
sent with CertificateSigned, bad SECC CSRs refused, its root listed, its expiry renewed."""

from __future__ import annotations

import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import msgspec
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store

from sigec_actors.config import load_settings
from sigec_actors.errors import ConfigError
from sigec_actors.ocpp.generated.v201 import AuthorizeCertificateStatusEnum as CertStatus
from sigec_actors.ocpp.generated.v201 import MessageTriggerEnum, TriggerMessageRequest
from sigec_actors.pki.ca import pem
from sigec_actors.pki.chain import verify_contract_chain
from sigec_actors.pki.csr import CsrRefused
from sigec_actors.pki.renewal import Renewal
from sigec_actors.pki.store import RootType
from sigec_actors.pki.v2g import V2gPolicy, ensure_v2g_ca, sign_secc_csr, validate_v2g_csr
from sigec_actors.pki.wiring import v2g_ca
from tests.charge_point.test_inbound import booted
from tests.pki.test_station_handlers import World, _calls, csr, world

__all__ = ["world"]  # the fixture, shared with the station handler tests
V2G = {"certificateType": "V2GCertificate"}


def _root(world: World) -> x509.Certificate:
    return x509.load_pem_x509_certificate((world.data / "pki" / "v2g" / "root.crt").read_bytes())


async def test_a_v2g_csr_is_signed_by_cpo_sub_ca_2_and_sent(world: World) -> None:
    h = world.h
    link, sink = await booted(h)
    answer = await h.call(sink, link, "SignCertificate", {"csr": csr("CP-1"), **V2G})
    assert answer[2] == {"status": "Accepted"}
    await h.settle()
    [signed] = _calls(link, "CertificateSigned")
    assert signed[3]["certificateType"] == "V2GCertificate"
    leaf, sub2, sub1 = x509.load_pem_x509_certificates(signed[3]["certificateChain"].encode())
    root = _root(world)
    assert root not in (leaf, sub2, sub1)  # the chain leaves the root out
    for cert, issuer in ((leaf, sub2), (sub2, sub1), (sub1, root)):
        cert.verify_directly_issued_by(issuer)
        assert isinstance(cert.signature_hash_algorithm, hashes.SHA256)
        key = cert.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp256r1"
    verifier = (PolicyBuilder().store(Store([root])).time(datetime.now(UTC))
                .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                    ee_policy=ExtensionPolicy.permit_all())
                .build_client_verifier())
    assert verifier.verify(leaf, [sub2, sub1]).chain == [leaf, sub2, sub1, root]
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_agreement and not usage.key_encipherment
    assert not leaf.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP-1"
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc <= timedelta(days=60, minutes=5)
    [issued] = await world.store.issued("CP-1")
    assert issued.certificate_type == "V2GCertificate"
    assert issued.serial_number == format(leaf.serial_number, "x")
    await sink.on_frame(b'[3, "%s", {"status": "Accepted"}]' % signed[1].encode())
    await h.settle()
    assert [c.status for c in await world.store.issued("CP-1")] == ["Accepted"]
    for name in ("root.key", "sub1.key", "sub2.key"):
        assert stat.S_IMODE((world.data / "pki" / "v2g" / name).stat().st_mode) == 0o600


def _csr_with(key: Any, common_name: str = "CP-1", algorithm: Any = None) -> str:
    names = [x509.NameAttribute(NameOID.COMMON_NAME, common_name),
             x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ACME")]
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names)).sign(
        key, algorithm or hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()


def _tampered() -> str:
    """A CSR whose subject was changed after signing (CN CP-1 -> CP-9)."""
    der = x509.load_pem_x509_csr(_csr_with(ec.generate_private_key(ec.SECP256R1())).encode()
                                 ).public_bytes(serialization.Encoding.DER)
    bad = x509.load_der_x509_csr(der.replace(b"CP-1", b"CP-9"))
    return bad.public_bytes(serialization.Encoding.PEM).decode()


@pytest.mark.parametrize(("request_pem", "reason"), [
    (lambda: _csr_with(rsa.generate_private_key(65537, 2048)), "KeyType"),
    (lambda: _csr_with(ec.generate_private_key(ec.SECP384R1())), "KeyType"),
    (lambda: _csr_with(ec.generate_private_key(ec.SECP256R1()), algorithm=hashes.SHA384()),
     "InvalidCSR"),
    (lambda: _csr_with(ec.generate_private_key(ec.SECP256R1()), "CP-2"), "InvalidCSR"),
    (lambda: csr("CP-1", "Other"), "InvalidCSR"),
    (_tampered, "InvalidSignature"),
])
async def test_a_bad_v2g_csr_is_refused_and_nothing_sent_or_stored(
        world: World, request_pem: Any, reason: str) -> None:
    h = world.h
    link, sink = await booted(h)
    answer = await h.call(sink, link, "SignCertificate", {"csr": request_pem(), **V2G})
    assert answer[2]["status"] == "Rejected"
    assert answer[2]["statusInfo"]["reasonCode"] == reason
    await h.settle()
    assert _calls(link, "CertificateSigned") == []
    assert await world.store.issued("CP-1") == []


def test_any_cn_policy_still_refuses_an_emaid_cn() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    policy = V2gPolicy(organisation="ACME", common_name="any")
    assert validate_v2g_csr(_csr_with(key, "SECC-7"), "CP-1", policy)
    with pytest.raises(CsrRefused, match="EMAID"):
        validate_v2g_csr(_csr_with(key, "BRXXXC12345678X"), "CP-1", policy)


async def test_an_secc_certificate_never_passes_as_a_contract(world: World) -> None:
    """Even one whose CN reads as an EMAID (the CSR check refuses those; signed here directly)."""
    ca, now = world.pki.v2g.ca, datetime.now(UTC)
    request = x509.load_pem_x509_csr(_csr_with(ec.generate_private_key(ec.SECP256R1()),
                                               "BRXXXC12345678X").encode())
    secc = sign_secc_csr(request, ca, now, 60)
    verdict = verify_contract_chain(pem(secc, *ca.chain[:-1]), [ca.root], now)
    assert verdict.status is CertStatus.CERT_CHAIN_ERROR and "SECC" in verdict.reason


async def test_the_v2g_root_is_listed_as_a_trusted_v2g_root(world: World) -> None:
    first = await world.pki.publish_roots()
    again = await world.pki.publish_roots()
    assert first == again
    [row] = await world.store.roots((RootType.V2G,))
    assert row.fingerprint == _root(world).fingerprint(hashes.SHA256()).hex()


async def test_renewal_asks_for_a_new_v2g_csr(world: World) -> None:
    h = world.h
    link, sink = await booted(h)
    for extra in ({}, V2G):
        await h.call(sink, link, "SignCertificate", {"csr": csr("CP-1"), **extra})
    sent: list[msgspec.Struct] = []

    async def send(station_id: str, request: msgspec.Struct) -> msgspec.Struct:
        sent.append(request)
        return request

    later = datetime.now(UTC) + timedelta(days=45)  # the SECC leaf (60 days) is due
    assert len(await Renewal(world.store, send, lambda: later, renew_before_days=30
                             ).run_once()) == 1
    assert sent == [TriggerMessageRequest(
        requested_message=MessageTriggerEnum.SIGN_V2_GCERTIFICATE)]
    much_later = later + timedelta(days=340)  # both now (the station certificate: 365 days)
    await Renewal(world.store, send, lambda: much_later, renew_before_days=30).run_once()
    assert sent[1:] == [TriggerMessageRequest(requested_message=trigger) for trigger in (
        MessageTriggerEnum.SIGN_V2_GCERTIFICATE,
        MessageTriggerEnum.SIGN_CHARGING_STATION_CERTIFICATE)]


def test_bring_your_own_v2g_ca(tmp_path: Path) -> None:
    theirs = ensure_v2g_ca(tmp_path / "theirs", "Them")
    cert, key = tmp_path / "v2g.pem", tmp_path / "v2g.key"
    cert.write_text(pem(*theirs.chain))
    key.write_bytes((tmp_path / "theirs" / "sub2.key").read_bytes())
    os.chmod(key, 0o600)
    settings = load_settings({}, overrides={"server.data_dir": str(tmp_path / "data"),
                                            "pki.v2g_ca_cert": str(cert),
                                            "pki.v2g_ca_key": str(key)})
    ca = v2g_ca(settings.pki, settings.data_dir)
    assert ca.issuer == theirs.issuer and ca.root == theirs.root
    assert not (tmp_path / "data" / "pki" / "v2g").exists()
    rsa_key = rsa.generate_private_key(65537, 2048)
    key.write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM,
                                          serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    with pytest.raises(ConfigError) as refused:
        v2g_ca(settings.pki, settings.data_dir)
    assert refused.value.key == "pki.v2g_ca_key"
    other = ec.generate_private_key(ec.SECP256R1())  # P-256, but not sub-CA 2's key
    key.write_bytes(other.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    with pytest.raises(ConfigError, match="does not match"):
        v2g_ca(settings.pki, settings.data_dir)
    os.chmod(key, 0o644)
    with pytest.raises(ConfigError, match="owner only"):
        v2g_ca(settings.pki, settings.data_dir)
