"""Contract chain verification and revocation by OCSP from a loopback responder."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from sigec_actors.ocpp.generated.v201 import AuthorizeCertificateStatusEnum as CertStatus
from sigec_actors.pki.chain import verify_contract_chain
from sigec_actors.pki.ocsp import (
    AiohttpOcspTransport,
    OcspClient,
    OcspQuery,
    OcspUnavailable,
    Revocation,
)
from tests.helpers.pki import ContractPki, OcspResponder, contract_name, issue, make_contract_pki

EMAID = "BRXXXC12345678X"
NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module", autouse=True)
def _now() -> None:
    """NOW is when this module's tests run, not when the suite was collected: certificates
    issued here start 5 minutes before their creation, and a whole suite runs longer."""
    global NOW  # noqa: PLW0603
    NOW = datetime.datetime.now(datetime.UTC)


@pytest.fixture(scope="module")
def mo() -> ContractPki:
    return make_contract_pki("http://127.0.0.1:9/ocsp")


def test_a_valid_chain_is_accepted_with_its_emaid(mo: ContractPki) -> None:
    verdict = verify_contract_chain(mo.chain(mo.leaf(EMAID)), [mo.root.cert], NOW)
    assert verdict.ok, verdict.reason
    assert verdict.emaid == EMAID
    assert [c.subject for c in verdict.path] == [
        contract_name(EMAID), mo.sub2.cert.subject, mo.sub1.cert.subject, mo.root.cert.subject]


def test_expired_and_not_yet_valid(mo: ContractPki) -> None:
    old = mo.leaf(EMAID, start=NOW - datetime.timedelta(days=800), days=730)
    assert verify_contract_chain(mo.chain(old), [mo.root.cert], NOW).status is (
        CertStatus.CERTIFICATE_EXPIRED)
    early = mo.leaf(EMAID, start=NOW + datetime.timedelta(days=2))
    verdict = verify_contract_chain(mo.chain(early), [mo.root.cert], NOW)
    assert verdict.status is CertStatus.CERT_CHAIN_ERROR
    assert "not valid before" in verdict.reason


def test_a_forged_signature_is_a_signature_error(mo: ContractPki) -> None:
    forged = mo.leaf(EMAID, signer_key=ec.generate_private_key(ec.SECP256R1()))
    verdict = verify_contract_chain(mo.chain(forged), [mo.root.cert], NOW)
    assert verdict.status is CertStatus.SIGNATURE_ERROR


def test_a_chain_to_another_root_is_refused(mo: ContractPki) -> None:
    other = make_contract_pki(name="Stranger")
    verdict = verify_contract_chain(other.chain(other.leaf(EMAID)), [mo.root.cert], NOW)
    assert verdict.status is CertStatus.CERT_CHAIN_ERROR
    assert not verify_contract_chain(mo.chain(mo.leaf(EMAID)), [], NOW).ok


def test_iso_leaf_rules(mo: ContractPki) -> None:
    bad_digit = mo.leaf("BRXXXC12345678Y")
    verdict = verify_contract_chain(mo.chain(bad_digit), [mo.root.cert], NOW)
    assert verdict.status is CertStatus.CERT_CHAIN_ERROR and "check digit" in verdict.reason
    as_ca = issue(contract_name(EMAID), mo.sub2, ca=True, path_length=0)
    assert not verify_contract_chain(mo.chain(as_ca), [mo.root.cert], NOW).ok
    garbage = verify_contract_chain("not a pem", [mo.root.cert], NOW)
    assert garbage.status is CertStatus.CERT_CHAIN_ERROR


@pytest.fixture
async def responder() -> AsyncIterator[tuple[OcspResponder, ContractPki]]:
    server = OcspResponder([])
    url = await server.start()
    pki = make_contract_pki(url)
    server.issuers.extend([pki.root, pki.sub1, pki.sub2])
    yield server, pki
    await server.stop()


async def test_ocsp_good_revoked_and_cached_until_next_update(
        responder: tuple[OcspResponder, ContractPki]) -> None:
    server, pki = responder
    clock = [NOW]
    client = OcspClient([server.url], AiohttpOcspTransport(), lambda: clock[0])
    good, bad = pki.leaf(EMAID), pki.leaf("NL123C10028948M")
    server.revoked.add(bad.cert.serial_number)
    first = await client.check(OcspQuery.of_certificate(good.cert, pki.sub2.cert),
                               [server.url], pki.sub2.cert)
    assert first.status is Revocation.GOOD
    revoked = await client.check(OcspQuery.of_certificate(bad.cert, pki.sub2.cert),
                                 issuer=pki.sub2.cert)
    assert revoked.status is Revocation.REVOKED
    assert server.hits == 2
    await client.check(OcspQuery.of_certificate(good.cert, pki.sub2.cert))
    assert server.hits == 2  # cached: nextUpdate is an hour away
    clock[0] = NOW + datetime.timedelta(hours=2)
    await client.check(OcspQuery.of_certificate(good.cert, pki.sub2.cert))
    assert server.hits == 3  # past nextUpdate: asked again


async def test_only_allow_listed_responders_are_asked(
        responder: tuple[OcspResponder, ContractPki]) -> None:
    server, pki = responder
    leaf = pki.leaf(EMAID)
    query = OcspQuery.of_certificate(leaf.cert, pki.sub2.cert)
    nobody = OcspClient([], AiohttpOcspTransport(), lambda: NOW)
    with pytest.raises(OcspUnavailable, match="no OCSP responder"):
        await nobody.check(query, [server.url])
    assert server.hits == 0  # the station's URL was not called
    listed = OcspClient([server.url], AiohttpOcspTransport(), lambda: NOW)
    assert listed.responder_for(["http://169.254.169.254/latest"]) == server.url


async def test_an_answer_not_signed_by_the_issuer_is_refused(
        responder: tuple[OcspResponder, ContractPki]) -> None:
    server, pki = responder
    leaf = pki.leaf(EMAID)
    client = OcspClient([server.url], AiohttpOcspTransport(), lambda: NOW)
    with pytest.raises(OcspUnavailable, match="not signed"):
        await client.check(OcspQuery.of_certificate(leaf.cert, pki.sub2.cert),
                           issuer=pki.sub1.cert)
