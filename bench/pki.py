"""PKI micro-benchmarks (issue 22): what one Plug & Charge Authorize and one SignCertificate cost
in CPU on this machine, each beside the bare cryptography work it is built on, and what a warm
Get15118EVCertificate costs through the offline provider and its EXI codec (Java).

    python -m bench.pki [--n 300]

Prints a markdown table of medians (µs per operation) and writes bench/out/pki.json. Runs in
process; the OCSP responder is a loopback aiohttp server; the EXI codec's Java process is
started once (its start is not measured) and stopped at the end; without Java or the jar its
rows are left out, with the reason. Stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime
import itertools
import json
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sigec_actors.config import load_settings
from sigec_actors.ocpp.generated.v201 import (
    AuthorizationStatusEnum,
    AuthorizeRequest,
    CertificateActionEnum,
    Get15118EVCertificateRequest,
    IdToken,
    IdTokenEnum,
    Iso15118EVCertificateStatusEnum,
)
from sigec_actors.pki.ca import ensure_ca
from sigec_actors.pki.chain import verify_contract_chain
from sigec_actors.pki.crl import AiohttpCrlTransport, CrlChecker
from sigec_actors.pki.csr import CsrPolicy, sign_station_csr, validate_csr
from sigec_actors.pki.emaid import check_digit
from sigec_actors.pki.exi.codec import ISO2_MSG_DEF, ExiUnavailable
from sigec_actors.pki.ocsp import AiohttpOcspTransport, OcspClient
from sigec_actors.pki.plug_charge import PlugAndCharge
from sigec_actors.pki.provider import OfflineContractProvider
from sigec_actors.pki.store import RootType, TrustedRoot
from sigec_actors.pki.v2g import V2gPolicy, V2gSigner, ensure_v2g_ca
from sigec_actors.pki.wiring import PkiWiring
from sigec_actors.testing.pki import InMemoryCertificates, TokenTable
from tests.helpers.crl import CrlServer, make_crl
from tests.helpers.pki import OcspResponder, make_contract_pki
from tests.pki.ev import Ev, installation_req

EMAID = "BRXXXC12345678X"


def _median_us(fn: Callable[[], object], n: int) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


async def _amedian_us(fn: Callable[[], Awaitable[object]], n: int) -> float:
    samples = []
    for _ in range(n):
        start = time.perf_counter()
        await fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e6


def _csr(station_id: str) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return x509.CertificateSigningRequestBuilder().subject_name(x509.Name([
        x509.NameAttribute(NameOID.COMMON_NAME, station_id)])).sign(
            key, hashes.SHA256()).public_bytes(serialization.Encoding.PEM).decode()


async def run(n: int) -> dict[str, float]:
    responder = OcspResponder([])
    url = await responder.start()
    mo = make_contract_pki(url)
    responder.issuers.extend([mo.root, mo.sub1, mo.sub2])
    leaf = mo.leaf(EMAID)
    chain = mo.chain(leaf)
    now = datetime.datetime.now(datetime.UTC)
    store = InMemoryCertificates()
    await store.add_root(TrustedRoot(fingerprint="x", root_type=RootType.MO, subject="MO",
                                     certificate_pem=mo.root.pem,
                                     valid_to=mo.root.cert.not_valid_after_utc))
    tokens = TokenTable({EMAID: AuthorizationStatusEnum.ACCEPTED})
    clock = [now]
    pnc = PlugAndCharge(store, OcspClient([url], AiohttpOcspTransport(), lambda: clock[0]),
                        tokens, lambda: now)
    request = AuthorizeRequest(id_token=IdToken(id_token=EMAID, type=IdTokenEnum.E_MAID),
                               certificate=chain)
    ticks = itertools.count(1)

    async def authorize_uncached() -> object:
        clock[0] = now + datetime.timedelta(days=next(ticks))  # past every nextUpdate
        return await pnc.authorize("CP-1", request)

    path = [leaf.cert, mo.sub2.cert, mo.sub1.cert, mo.root.cert]

    def signatures() -> None:
        for cert, issuer in itertools.pairwise(path):
            cert.verify_directly_issued_by(issuer)

    results = {
        "emaid check digit": _median_us(lambda: check_digit("BRXXXC12345678"), n),
        "bare: 3 signature checks (verify_directly_issued_by)": _median_us(
            signatures, n),
        "verify_contract_chain (path + ISO checks)": _median_us(
            lambda: verify_contract_chain(chain, [mo.root.cert], now), n),
        "Authorize with chain, OCSP cached": await _amedian_us(
            lambda: pnc.authorize("CP-1", request), n),
        "Authorize with chain, 3 OCSP round trips (loopback)": await _amedian_us(
            authorize_uncached, max(20, n // 10)),
    }
    crls = await CrlServer().start()
    for name, issuer in (("root", mo.root), ("sub1", mo.sub1), ("sub2", mo.sub2)):
        crls.crls[f"{name}.crl"] = make_crl(issuer, range(1, 1001))  # 1000 revoked serials
    urls = [crls.url(f"{name}.crl") for name in ("sub2", "sub1", "root")]

    def crl_only() -> PlugAndCharge:
        return PlugAndCharge(store, OcspClient([], AiohttpOcspTransport(), lambda: now), tokens,
                             lambda: now, crl=CrlChecker(urls, [], AiohttpCrlTransport(),
                                                         lambda: now))

    cached = crl_only()
    results["Authorize with chain, CRLs cached (1000 entries each, no OCSP)"] = (
        await _amedian_us(lambda: cached.authorize("CP-1", request), n))
    results["Authorize with chain, 3 CRL downloads (loopback, 1000 entries each)"] = (
        await _amedian_us(lambda: crl_only().authorize("CP-1", request), max(20, n // 10)))
    await crls.stop()
    with tempfile.TemporaryDirectory() as tmp:
        ca = ensure_ca(Path(tmp) / "ca", "Root", "Issuing", "Org")
        pem = _csr("CP-1")
        policy = CsrPolicy()
        parsed = validate_csr(pem, "CP-1", policy)
        results["bare: parse CSR + check its signature"] = _median_us(
            lambda: x509.load_pem_x509_csr(pem.encode()).is_signature_valid, n)
        results["SignCertificate: validate + sign"] = _median_us(
            lambda: sign_station_csr(validate_csr(pem, "CP-1", policy), ca, now, 365), n)
        assert parsed is not None
        v2g = V2gSigner(ensure_v2g_ca(Path(tmp) / "v2g", "Org"), V2gPolicy())
        results["SignCertificate V2GCertificate: validate + sign"] = _median_us(
            lambda: v2g.issue(pem, "CP-1", now), n)
    await responder.stop()
    return results


async def _not_sent(station_id: str, request: msgspec.Struct) -> msgspec.Struct:
    raise AssertionError("the offline provider sends nothing")


async def exi_rows(n: int) -> dict[str, float]:
    """A warm EXI encode and a warm Get15118EVCertificate (offline provider, EV request made
    beforehand), medians of `n`; {} when the codec cannot run here."""
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(env={}, overrides={"server.data_dir": tmp})
        pki = PkiWiring(settings, InMemoryCertificates(), TokenTable({}),
                        lambda: _not_sent)
        codec, provider = pki.exi, pki.provider
        assert codec is not None
        assert isinstance(provider, OfflineContractProvider)
        ev = Ev.make()
        try:
            exi = [await installation_req(codec, ev, provider.cps.v2g_root)
                   for _ in range(n + 1)]
        except ExiUnavailable as exc:
            print(f"EXI rows left out: {exc}")
            return {}
        message = await codec.decode(exi[0], ISO2_MSG_DEF)
        requests = iter([Get15118EVCertificateRequest(
            iso15118_schema_version=ISO2_MSG_DEF, action=CertificateActionEnum.INSTALL,
            exi_request=base64.b64encode(one).decode()) for one in exi])

        async def get() -> None:
            answer = await provider.certificate("CP-1", next(requests))
            assert answer.status is Iso15118EVCertificateStatusEnum.ACCEPTED, answer

        await get()  # warm: the first one builds the codec's JAXB contexts
        try:
            return {
                "EXI: encode a CertificateInstallationReq (warm)": await _amedian_us(
                    lambda: codec.encode(message, ISO2_MSG_DEF), n),
                "Get15118EVCertificate, offline provider, warm (5 codec round trips)":
                    await _amedian_us(get, n),
            }
        finally:
            await pki.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="samples per operation")
    args = parser.parse_args()
    results = asyncio.run(run(args.n))
    results.update(asyncio.run(exi_rows(max(20, args.n // 15))))
    print("| operation | median µs |\n|---|---:|")
    for name, value in results.items():
        print(f"| {name} | {value:,.0f} |")
    out = Path(__file__).parent / "out"
    out.mkdir(exist_ok=True)
    (out / "pki.json").write_text(json.dumps({"n": args.n, "median_us": results}, indent=2))


if __name__ == "__main__":
    main()
