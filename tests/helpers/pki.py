"""A throwaway PKI for TLS tests: a CA, a server certificate for 127.0.0.1, client certificates."""

from __future__ import annotations

import datetime
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509 import ocsp
from cryptography.x509.oid import NameOID


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    directory: Path
    ca_key: ec.EllipticCurvePrivateKey
    ca_cert: x509.Certificate

    def client(self, common_name: str, *, other_ca: bool = False) -> tuple[Path, Path]:
        """A client certificate (and key) with this CN, signed by our CA or a stranger's."""
        if other_ca:
            key, cert = _self_signed_ca("Stranger CA")
        else:
            key, cert = self.ca_key, self.ca_cert
        tag = f"{common_name}-{'other' if other_ca else 'ours'}"
        return _issue(self.directory, tag, common_name, key, cert, server=False)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _self_signed_ca(common_name: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(_name(common_name))
            .issuer_name(_name(common_name)).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _issue(directory: Path, tag: str, common_name: str, ca_key: ec.EllipticCurvePrivateKey,
           ca_cert: x509.Certificate, *, server: bool) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    builder = (x509.CertificateBuilder().subject_name(_name(common_name))
               .issuer_name(ca_cert.subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5))
               .not_valid_after(now + datetime.timedelta(days=1)))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
    cert = builder.sign(ca_key, hashes.SHA256())
    cert_path, key_path = directory / f"{tag}.crt", directory / f"{tag}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def make_pki(directory: Path) -> Pki:
    """A test CA, a server certificate for localhost / 127.0.0.1, and client certificates."""
    ca_key, ca_cert = _self_signed_ca("SIGEC Test CA")
    ca = directory / "ca.crt"
    ca.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    server_cert, server_key = _issue(directory, "server", "localhost", ca_key, ca_cert,
                                     server=True)
    return Pki(ca, server_cert, server_key, directory, ca_key, ca_cert)


# --- ISO 15118 contract chains and an OCSP responder (issue 22) ---------------------------

@dataclass(frozen=True)
class Issued:
    """A certificate with its key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()


def issue(subject: x509.Name, issuer: Issued | None, *, ca: bool, path_length: int | None = None,
          days: int = 365, start: datetime.datetime | None = None,
          ocsp_url: str | None = None, signer_key: ec.EllipticCurvePrivateKey | None = None,
          key_usage: x509.KeyUsage | None = None, crl_url: str | None = None) -> Issued:
    """An EC P-256 certificate: a CA (keyCertSign, cRLSign, SKI/AKI) or an ISO contract leaf
    (digitalSignature, nonRepudiation, keyEncipherment, keyAgreement); self-signed without
    `issuer`. `signer_key` forges: it signs with another key than the issuer's. `ocsp_url` and
    `crl_url` go into authorityInfoAccess and cRLDistributionPoints."""
    key = ec.generate_private_key(ec.SECP256R1())
    begin = start or datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    usage = key_usage or (x509.KeyUsage(False, False, False, False, False, True, True, False,
                                        False) if ca else
                          x509.KeyUsage(True, True, True, False, True, False, False, False,
                                        False))
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(begin).not_valid_after(begin + datetime.timedelta(days=days))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length if ca
                                                    else None), critical=True)
               .add_extension(usage, critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                              critical=False))
    if issuer is not None:
        builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
            issuer.cert.public_key()), critical=False)  # type: ignore[arg-type]
    if ocsp_url:
        builder = builder.add_extension(x509.AuthorityInformationAccess([
            x509.AccessDescription(x509.oid.AuthorityInformationAccessOID.OCSP,
                                   x509.UniformResourceIdentifier(ocsp_url))]), critical=False)
    if crl_url:
        builder = builder.add_extension(x509.CRLDistributionPoints([x509.DistributionPoint(
            [x509.UniformResourceIdentifier(crl_url)], None, None, None)]), critical=False)
    signer = signer_key or (issuer.key if issuer else key)
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def contract_name(emaid: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, emaid),
                      x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "MO")])


@dataclass(frozen=True)
class ContractPki:
    """MO root -> sub-CA 1 -> sub-CA 2 -> contract leaves (CN = EMAID), as in ISO 15118-2."""

    root: Issued
    sub1: Issued
    sub2: Issued
    ocsp_url: str

    def leaf(self, emaid: str, **kwargs: object) -> Issued:
        return issue(contract_name(emaid), self.sub2, ca=False, ocsp_url=self.ocsp_url,
                     **kwargs)  # type: ignore[arg-type]

    def chain(self, leaf: Issued) -> str:
        """The chain as a station sends it: leaf and sub-CAs (the root stays out)."""
        return leaf.pem + self.sub2.pem + self.sub1.pem


def make_contract_pki(ocsp_url: str = "", name: str = "MO") -> ContractPki:
    root = issue(_name(f"{name} Root CA"), None, ca=True, path_length=2, days=3650)
    sub1 = issue(_name(f"{name} Sub-CA 1"), root, ca=True, path_length=1, days=1460,
                 ocsp_url=ocsp_url or None)
    sub2 = issue(_name(f"{name} Sub-CA 2"), sub1, ca=True, path_length=0, days=1460,
                 ocsp_url=ocsp_url or None)
    return ContractPki(root, sub1, sub2, ocsp_url)


class OcspResponder:
    """A loopback OCSP responder (aiohttp) answering for the certificates issued by `issuers`:
    serials in `revoked` are REVOKED, others GOOD; `hits` counts requests."""

    def __init__(self, issuers: list[Issued], next_update_s: float = 3600.0) -> None:
        self.issuers = issuers
        self.revoked: set[int] = set()
        self.hits = 0
        self.next_update_s = next_update_s
        self.url = ""
        self._runner: object = None

    def _issuer_for(self, request: ocsp.OCSPRequest) -> Issued | None:
        for issuer in self.issuers:
            probe = ocsp.OCSPRequestBuilder().add_certificate_by_hash(
                request.issuer_name_hash, request.issuer_key_hash, request.serial_number,
                request.hash_algorithm).build()
            name_hash = hashes.Hash(request.hash_algorithm)
            name_hash.update(issuer.cert.subject.public_bytes())
            if name_hash.finalize() == probe.issuer_name_hash:
                return issuer
        return None

    def answer(self, body: bytes) -> bytes:
        self.hits += 1
        request = ocsp.load_der_ocsp_request(body)
        issuer = self._issuer_for(request)
        if issuer is None:
            return ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED).public_bytes(serialization.Encoding.DER)
        now = datetime.datetime.now(datetime.UTC)
        revoked = request.serial_number in self.revoked
        builder = ocsp.OCSPResponseBuilder().add_response_by_hash(
            issuer_name_hash=request.issuer_name_hash, issuer_key_hash=request.issuer_key_hash,
            serial_number=request.serial_number, algorithm=request.hash_algorithm,
            cert_status=ocsp.OCSPCertStatus.REVOKED if revoked else ocsp.OCSPCertStatus.GOOD,
            this_update=now - datetime.timedelta(seconds=5),
            next_update=now + datetime.timedelta(seconds=self.next_update_s),
            revocation_time=now - datetime.timedelta(seconds=60) if revoked else None,
            revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, issuer.cert)
        return builder.sign(issuer.key, hashes.SHA256()).public_bytes(
            serialization.Encoding.DER)

    async def start(self) -> str:
        from aiohttp import web

        async def handle(request: web.Request) -> web.Response:
            return web.Response(body=self.answer(await request.read()),
                                content_type="application/ocsp-response")

        app = web.Application()
        app.router.add_post("/ocsp", handle)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self._runner = runner
        self.url = f"http://127.0.0.1:{port}/ocsp"
        return self.url

    async def stop(self) -> None:
        from aiohttp import web

        if isinstance(self._runner, web.AppRunner):
            await self._runner.cleanup()
