"""The PKI's station handlers through a ChargePoint actor: SignCertificate -> CertificateSigned,
GetCertificateStatus (OCSP proxy), Get15118EVCertificate, Authorize with a contract chain."""

from __future__ import annotations

import base64
import functools
import stat
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID

from sigec_actors.charge_point.commands import send_command
from sigec_actors.config import load_settings
from sigec_actors.ocpp.generated.v201 import AuthorizationStatusEnum as Auth
from sigec_actors.pki.ocsp import AiohttpOcspTransport, OcspQuery
from sigec_actors.pki.store import RootType, TrustedRoot
from sigec_actors.pki.wiring import PkiWiring
from sigec_actors.testing.ocpp import ChargePointHarness, FakeLink
from sigec_actors.testing.pki import InMemoryCertificates, TokenTable
from tests.charge_point.test_inbound import booted
from tests.helpers.pki import ContractPki, OcspResponder, make_contract_pki

EMAID, BLOCKED = "BRXXXC12345678X", "NL123C10028948M"


@dataclass
class World:
    h: ChargePointHarness
    pki: PkiWiring
    store: InMemoryCertificates
    mo: ContractPki
    ocsp: OcspResponder
    tokens: TokenTable
    data: Path
    link: Any = None
    sink: Any = None


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    responder = OcspResponder([])
    url = await responder.start()
    mo = make_contract_pki(url)
    responder.issuers.extend([mo.root, mo.sub1, mo.sub2])
    tokens = TokenTable({EMAID: Auth.ACCEPTED, BLOCKED: Auth.BLOCKED})
    settings = load_settings(env={}, overrides={
        "server.data_dir": str(tmp_path), "pki.organisation": "ACME",
        "pki.ocsp_responders": [url]})
    store = InMemoryCertificates()
    async with ChargePointHarness(authorizer=tokens) as h:
        sessions = h.sessions
        assert sessions is not None
        wiring = PkiWiring(settings, store, tokens,
                           lambda: functools.partial(send_command, sessions),
                           alerts=h.fakes.alerts, ocsp_transport=AiohttpOcspTransport())
        wiring.register(h.deps.handlers)
        await store.add_root(TrustedRoot(
            fingerprint=mo.root.cert.fingerprint(hashes.SHA256()).hex(), root_type=RootType.MO,
            subject=mo.root.cert.subject.rfc4514_string(), certificate_pem=mo.root.pem,
            valid_to=mo.root.cert.not_valid_after_utc))
        yield World(h, wiring, store, mo, responder, tokens, tmp_path)
        await wiring.stop()
    await responder.stop()


def csr(common_name: str, organisation: str = "ACME",
        key: ec.EllipticCurvePrivateKey | None = None) -> str:
    names = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organisation:
        names.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    request = x509.CertificateSigningRequestBuilder().subject_name(x509.Name(names)).sign(
        key or ec.generate_private_key(ec.SECP256R1()), hashes.SHA256())
    return request.public_bytes(serialization.Encoding.PEM).decode()


def _calls(link: FakeLink, action: str) -> list[list[Any]]:
    return [c for c in link.calls() if c[2] == action]


async def test_the_ca_is_made_once_with_private_keys_0600(world: World) -> None:
    directory = world.data / "pki" / "csms"
    for key in ("root.key", "issuing.key"):
        assert stat.S_IMODE((directory / key).stat().st_mode) == 0o600
    assert world.pki.ca.root.subject == world.pki.ca.chain[-1].subject
    again = PkiWiring(load_settings(env={}, overrides={"server.data_dir": str(world.data)}),
                      world.store, world.tokens, lambda: world.pki.stations._send)
    assert again.ca.issuer == world.pki.ca.issuer  # loaded, not made again


async def test_sign_certificate_then_certificate_signed(world: World) -> None:
    h = world.h
    link, sink = await booted(h)
    answer = await h.call(sink, link, "SignCertificate", {"csr": csr("CP-1")})
    assert answer[2] == {"status": "Accepted"}
    await h.settle()
    [signed] = _calls(link, "CertificateSigned")
    chain = x509.load_pem_x509_certificates(signed[3]["certificateChain"].encode())
    assert chain[0].subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == "CP-1"
    chain[0].verify_directly_issued_by(world.pki.ca.issuer)
    assert chain[1] == world.pki.ca.issuer
    [issued] = await world.store.issued("CP-1")
    assert issued.status == "Issued" and issued.serial_number == format(chain[0].serial_number,
                                                                        "x")
    await sink.on_frame(b'[3, "%s", {"status": "Accepted"}]' % signed[1].encode())
    await h.settle()
    assert [c.status for c in await world.store.issued("CP-1")] == ["Accepted"]


@pytest.mark.parametrize(("common_name", "organisation", "reason"), [
    ("CP-2", "ACME", "InvalidCSR"),    # another station's identity
    ("CP-1", "Other", "InvalidCSR"),   # not our organisation
])
async def test_a_csr_naming_someone_else_is_rejected(
        world: World, common_name: str, organisation: str, reason: str) -> None:
    h = world.h
    link, sink = await booted(h)
    answer = await h.call(sink, link, "SignCertificate", {"csr": csr(common_name, organisation)})
    assert answer[2]["status"] == "Rejected"
    assert answer[2]["statusInfo"]["reasonCode"] == reason
    await h.settle()
    assert _calls(link, "CertificateSigned") == []
    assert await world.store.issued("CP-1") == []


async def test_a_small_key_and_garbage_are_rejected(world: World) -> None:
    h = world.h
    link, sink = await booted(h)
    small = csr("CP-1", key=ec.generate_private_key(ec.SECP192R1()))
    assert (await h.call(sink, link, "SignCertificate", {"csr": small}))[2][
        "statusInfo"]["reasonCode"] == "KeyType"
    garbage = await h.call(sink, link, "SignCertificate", {"csr": "-----BEGIN nope"})
    assert garbage[2]["status"] == "Rejected"
    await h.settle()
    assert _calls(link, "CertificateSigned") == []
    assert await world.store.issued("CP-1") == []


async def _authorize(world: World, payload: dict[str, Any]) -> dict[str, Any]:
    if world.h.sessions is not None and world.h.sessions.ref("CP-1") is None:
        world.link, world.sink = await booted(world.h)
    answer = await world.h.call(world.sink, world.link, "Authorize", payload)
    assert answer[0] == 3, answer
    result: dict[str, Any] = answer[2]
    return result


def _token(emaid: str) -> dict[str, str]:
    return {"idToken": emaid, "type": "eMAID"}


async def test_plug_and_charge_accepts_a_valid_contract(world: World) -> None:
    chain = world.mo.chain(world.mo.leaf(EMAID))
    answer = await _authorize(world, {"idToken": _token(EMAID), "certificate": chain})
    assert answer == {"idTokenInfo": {"status": "Accepted"}, "certificateStatus": "Accepted"}
    assert world.tokens.asked == [(EMAID, "eMAID")]
    assert world.store.contracts[EMAID].status == "Accepted"
    assert world.ocsp.hits == 3  # leaf, sub-CA 2, sub-CA 1


async def test_plug_and_charge_refusals(world: World) -> None:
    mo = world.mo
    revoked = mo.leaf(EMAID)
    world.ocsp.revoked.add(revoked.cert.serial_number)
    stranger = make_contract_pki(name="Stranger")
    cases = [
        (mo.chain(revoked), EMAID, "CertificateRevoked", "Invalid"),
        (mo.chain(mo.leaf(EMAID)), BLOCKED, "CertChainError", "Invalid"),  # EMAID mismatch
        (mo.chain(mo.leaf(BLOCKED)), BLOCKED, "ContractCancelled", "Blocked"),
        (stranger.chain(stranger.leaf(EMAID)), EMAID, "CertChainError", "Invalid"),
        (mo.chain(mo.leaf(EMAID, start=datetime.now(UTC) - timedelta(days=800), days=730)),
         EMAID, "CertificateExpired", "Expired"),
    ]
    for chain, token, cert_status, token_status in cases:
        answer = await _authorize(world, {"idToken": _token(token), "certificate": chain})
        assert answer == {"idTokenInfo": {"status": token_status},
                          "certificateStatus": cert_status}, (cert_status, answer)
    stored = world.store.contracts[EMAID]  # the revoked check is kept (the mismatch is not)
    assert stored.revoked and stored.status == "CertificateRevoked"


async def test_plug_and_charge_with_hash_data_asks_the_listed_responder(world: World) -> None:
    leaf = world.mo.leaf(EMAID)
    query = OcspQuery.of_certificate(leaf.cert, world.mo.sub2.cert)
    data = msgspec_builtins(query.wire("http://169.254.169.254/not-allowed"))
    answer = await _authorize(world, {"idToken": _token(EMAID),
                                      "iso15118CertificateHashData": [data]})
    assert answer["certificateStatus"] == "Accepted"
    assert world.ocsp.hits == 1
    world.ocsp.revoked.add(leaf.cert.serial_number)
    other = world.mo.leaf(EMAID)  # a new serial: not cached
    world.ocsp.revoked.add(other.cert.serial_number)
    data2 = msgspec_builtins(OcspQuery.of_certificate(other.cert, world.mo.sub2.cert).wire())
    again = await _authorize(world, {"idToken": _token(EMAID),
                                     "iso15118CertificateHashData": [data2]})
    assert again["certificateStatus"] == "CertificateRevoked"


async def test_get_certificate_status_is_an_ocsp_proxy(world: World) -> None:
    h = world.h
    leaf = world.mo.leaf(EMAID)
    data = msgspec_builtins(OcspQuery.of_certificate(leaf.cert, world.mo.sub2.cert).wire())
    link, sink = await booted(h)
    world.link, world.sink = link, sink
    answer = await h.call(sink, link, "GetCertificateStatus", {"ocspRequestData": data})
    assert answer[2]["status"] == "Accepted"
    resp = ocsp.load_der_ocsp_response(base64.b64decode(answer[2]["ocspResult"]))
    assert resp.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert resp.serial_number == leaf.cert.serial_number
    again = await h.call(sink, link, "GetCertificateStatus", {"ocspRequestData": data})
    assert again[2]["ocspResult"] == answer[2]["ocspResult"] and world.ocsp.hits == 1  # cached
    bad = dict(data, issuerNameHash="zz")
    failed = await h.call(sink, link, "GetCertificateStatus", {"ocspRequestData": bad})
    assert failed[2]["status"] == "Failed"


def msgspec_builtins(value: object) -> dict[str, Any]:
    import msgspec

    result: dict[str, Any] = msgspec.to_builtins(value)
    return result


async def test_required_ocsp_without_an_answer_refuses_the_contract(world: World) -> None:
    from sigec_actors.ocpp.generated.v201 import AuthorizeRequest, IdToken, IdTokenEnum
    from sigec_actors.pki.ocsp import OcspClient
    from sigec_actors.pki.plug_charge import PlugAndCharge

    closed = OcspClient(["http://127.0.0.1:9/ocsp"], AiohttpOcspTransport(),
                        lambda: datetime.now(UTC), timeout_s=2.0)
    strict = PlugAndCharge(world.store, closed, world.tokens, lambda: datetime.now(UTC),
                           ocsp_required=True)
    token = IdToken(id_token=EMAID, type=IdTokenEnum.E_MAID)
    chain = world.mo.chain(world.mo.leaf(EMAID))
    answer = await strict.authorize("CP-1", AuthorizeRequest(id_token=token, certificate=chain))
    assert answer.certificate_status is not None
    assert answer.certificate_status.value == "CertChainError"
    lenient = PlugAndCharge(world.store, closed, world.tokens, lambda: datetime.now(UTC))
    ok = await lenient.authorize("CP-1", AuthorizeRequest(id_token=token, certificate=chain))
    assert ok.certificate_status is not None and ok.certificate_status.value == "Accepted"
