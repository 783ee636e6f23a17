"""Revocation by CRL (issue 22): CRLs built with cryptography and served from a loopback HTTP
server; the allow-list, the cache until nextUpdate, the issuer's signature, and how Plug & Charge
combines CRL and OCSP answers."""

from __future__ import annotations

import datetime
from collections.abc import AsyncIterator, Callable, Collection
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from sigec_actors.ocpp.generated.v201 import AuthorizationStatusEnum as Auth
from sigec_actors.ocpp.generated.v201 import AuthorizeRequest, IdToken, IdTokenEnum
from sigec_actors.pki.crl import AiohttpCrlTransport, CrlChecker, CrlUnavailable
from sigec_actors.pki.ocsp import AiohttpOcspTransport, OcspClient, Revocation
from sigec_actors.pki.plug_charge import PlugAndCharge
from sigec_actors.testing.pki import InMemoryCertificates, TokenTable
from tests.helpers.crl import CrlServer, make_crl
from tests.helpers.pki import ContractPki, Issued, OcspResponder, issue, make_contract_pki

EMAID = "BRXXXC12345678X"
CLOSED = "http://127.0.0.1:9/closed.crl"  # nothing listens on the discard port


def utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


@pytest.fixture
async def server() -> AsyncIterator[CrlServer]:
    crls = await CrlServer().start()
    yield crls
    await crls.stop()


@pytest.fixture
def mo() -> ContractPki:
    return make_contract_pki(name="CRL MO")


def serve(server: CrlServer, mo: ContractPki, revoked: Collection[int] = (),
          next_update_s: float = 3600.0) -> None:
    """Each CA's CRL at <name>.crl; `revoked` serials are on every list."""
    for name, issuer in (("root", mo.root), ("sub1", mo.sub1), ("sub2", mo.sub2)):
        server.crls[f"{name}.crl"] = make_crl(issuer, revoked, next_update_s=next_update_s)


def checker(urls: list[str], files: list[str] = [],  # noqa: B006 (never mutated)
            now: Callable[[], datetime.datetime] = utcnow) -> CrlChecker:
    return CrlChecker(urls, files, AiohttpCrlTransport(), now, timeout_s=2.0)


def leaf(mo: ContractPki, server: CrlServer, path: str = "sub2.crl") -> Issued:
    return mo.leaf(EMAID, crl_url=server.url(path))


async def test_a_revoked_serial_on_the_issuers_crl(server: CrlServer, mo: ContractPki) -> None:
    good, bad = leaf(mo, server), leaf(mo, server)
    serve(server, mo, {bad.cert.serial_number})
    crl = checker([server.url("sub2.crl")])
    assert await crl.check(good.cert, mo.sub2.cert) is Revocation.GOOD
    assert await crl.check(bad.cert, mo.sub2.cert) is Revocation.REVOKED
    assert server.hits["sub2.crl"] == 1  # kept until its nextUpdate


async def test_the_crl_is_kept_until_its_next_update(server: CrlServer, mo: ContractPki) -> None:
    cert = leaf(mo, server)
    serve(server, mo)
    clock = [utcnow()]
    crl = checker([server.url("sub2.crl")], now=lambda: clock[0])
    assert await crl.check(cert.cert, mo.sub2.cert) is Revocation.GOOD
    serve(server, mo, {cert.cert.serial_number}, 4 * 3600)  # revoked; the cached list: good
    assert await crl.check(cert.cert, mo.sub2.cert) is Revocation.GOOD
    assert server.hits["sub2.crl"] == 1
    clock[0] += datetime.timedelta(hours=2)  # past nextUpdate (1 h): fetched again
    assert await crl.check(cert.cert, mo.sub2.cert) is Revocation.REVOKED
    assert server.hits["sub2.crl"] == 2


async def test_a_distribution_point_not_on_the_allow_list_is_never_fetched(
        server: CrlServer, mo: ContractPki) -> None:
    cert = leaf(mo, server, "elsewhere.crl")
    server.crls["elsewhere.crl"] = make_crl(mo.sub2, {cert.cert.serial_number})
    serve(server, mo)
    crl = checker([server.url("sub2.crl")])
    assert crl.sources_for(cert.cert) == [server.url("sub2.crl")]
    assert await crl.check(cert.cert, mo.sub2.cert) is Revocation.GOOD  # the listed source
    assert server.hits["elsewhere.crl"] == 0
    nothing = checker([])
    assert not nothing.configured and nothing.sources_for(cert.cert) == []


async def test_a_listed_distribution_point_is_asked_before_the_other_urls(
        server: CrlServer, mo: ContractPki) -> None:
    cert = leaf(mo, server, "sub2.crl")
    serve(server, mo, {cert.cert.serial_number})
    crl = checker([server.url("root.crl"), server.url("sub2.crl")])
    assert crl.sources_for(cert.cert) == [server.url("sub2.crl"), server.url("root.crl")]
    assert await crl.check(cert.cert, mo.sub2.cert) is Revocation.REVOKED


async def test_unusable_crls_are_unavailable(server: CrlServer, mo: ContractPki,
                                             tmp_path: Path) -> None:
    cert = leaf(mo, server)
    forged = make_crl(mo.sub2, signer_key=ec.generate_private_key(ec.SECP256R1()))
    stale = make_crl(mo.sub2, {cert.cert.serial_number}, next_update_s=-60)
    cases = {"forged.crl": (forged, "not signed"), "stale.crl": (stale, "not current"),
             "junk.crl": (b"not a CRL", "no CRL"), "missing.crl": (None, "HTTP 404")}
    for path, (body, reason) in cases.items():
        if body is not None:
            server.crls[path] = body
        with pytest.raises(CrlUnavailable, match=reason):
            await checker([server.url(path)]).check(cert.cert, mo.sub2.cert)
    server.crls["sub1.crl"] = make_crl(mo.sub1, {cert.cert.serial_number})
    with pytest.raises(CrlUnavailable, match="no CRL of"):  # another issuer's list
        await checker([server.url("sub1.crl")]).check(cert.cert, mo.sub2.cert)
    with pytest.raises(CrlUnavailable, match="ClientConnectorError"):
        await checker([CLOSED]).check(cert.cert, mo.sub2.cert)
    stale_file = tmp_path / "stale.crl"
    stale_file.write_bytes(stale)
    with pytest.raises(CrlUnavailable, match="not current"):
        await checker([], [str(stale_file)]).check(cert.cert, mo.sub2.cert)


async def test_a_crl_from_a_file_pem_or_der(tmp_path: Path, mo: ContractPki) -> None:
    revoked, good = mo.leaf(EMAID), mo.leaf(EMAID)
    pem, der = tmp_path / "sub2.pem", tmp_path / "sub1.crl"
    pem.write_bytes(make_crl(mo.sub2, {revoked.cert.serial_number}, pem=True))
    der.write_bytes(make_crl(mo.sub1))
    crl = checker([], [str(der), str(pem)])
    assert await crl.check(revoked.cert, mo.sub2.cert) is Revocation.REVOKED
    assert await crl.check(good.cert, mo.sub2.cert) is Revocation.GOOD
    assert await crl.check(mo.sub2.cert, mo.sub1.cert) is Revocation.GOOD
    assert crl.downloads == 0


def _pnc(mo: ContractPki, crl: CrlChecker, *, required: bool,
         ocsp: OcspClient | None = None) -> PlugAndCharge:
    return PlugAndCharge(InMemoryCertificates(), ocsp or OcspClient(
        [], AiohttpOcspTransport(), utcnow), TokenTable({EMAID: Auth.ACCEPTED}), utcnow,
        ocsp_required=required, extra_roots=[mo.root.cert], crl=crl)


async def _status(pnc: PlugAndCharge, chain: str) -> str:
    answer = await pnc.authorize("CP-1", AuthorizeRequest(
        id_token=IdToken(id_token=EMAID, type=IdTokenEnum.E_MAID), certificate=chain))
    assert answer.certificate_status is not None
    return answer.certificate_status.value


async def test_plug_and_charge_refuses_a_contract_revoked_by_crl(
        server: CrlServer, mo: ContractPki) -> None:
    good, bad = leaf(mo, server), leaf(mo, server)
    serve(server, mo, {bad.cert.serial_number})
    urls = [server.url(p) for p in ("sub2.crl", "sub1.crl", "root.crl")]
    pnc = _pnc(mo, checker(urls), required=True)
    assert await _status(pnc, mo.chain(good)) == "Accepted"
    assert await _status(pnc, mo.chain(bad)) == "CertificateRevoked"
    other = make_contract_pki(name="CRL MO 2")  # a revoked sub-CA revokes the whole chain
    serve(server, other, {other.sub2.cert.serial_number})
    pnc = _pnc(other, checker(urls), required=True)  # a new cache: the lists changed
    assert await _status(pnc, other.chain(other.leaf(EMAID))) == "CertificateRevoked"


async def test_no_usable_crl_is_treated_like_an_unreachable_ocsp_responder(
        mo: ContractPki) -> None:
    chain = mo.chain(mo.leaf(EMAID))
    assert await _status(_pnc(mo, checker([CLOSED]), required=True), chain) == "CertChainError"
    assert await _status(_pnc(mo, checker([CLOSED]), required=False), chain) == "Accepted"


async def test_ocsp_and_crl_answers_are_combined(server: CrlServer, mo: ContractPki) -> None:
    responder = OcspResponder([mo.root, mo.sub1, mo.sub2])
    url = await responder.start()
    try:
        ocsp = OcspClient([url], AiohttpOcspTransport(), utcnow, timeout_s=2.0)
        cert = leaf(mo, server)
        chain = mo.chain(cert)
        # CRL unreachable, OCSP answers good: known, so accepted even when required
        strict = _pnc(mo, checker([CLOSED]), required=True, ocsp=ocsp)
        assert await _status(strict, chain) == "Accepted"
        # OCSP says good, the CRL says revoked: revoked wins
        serve(server, mo, {cert.cert.serial_number})
        both = _pnc(mo, checker([server.url("sub2.crl")]), required=True, ocsp=ocsp)
        assert await _status(both, chain) == "CertificateRevoked"
        assert responder.hits == 3
    finally:
        await responder.stop()


async def test_a_cached_crl_is_verified_again_for_another_issuer_certificate(
        server: CrlServer, mo: ContractPki) -> None:
    """The signature check is remembered per issuer certificate, not per CRL: an impostor CA
    with the real sub-CA's name but its own key gets nothing from the cached list."""
    cert = leaf(mo, server)
    serve(server, mo)
    crl = checker([server.url("sub2.crl")])
    assert await crl.check(cert.cert, mo.sub2.cert) is Revocation.GOOD
    impostor = issue(mo.sub2.cert.subject, mo.sub1, ca=True, path_length=0)
    with pytest.raises(CrlUnavailable, match="not signed"):
        await crl.check(cert.cert, impostor.cert)
    assert server.hits["sub2.crl"] == 1
