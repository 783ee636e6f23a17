"""The V2G chain of ISO 15118-2 (V2G root -> CPO sub-CA 1 -> CPO sub-CA 2, EC P-256, SHA-256)
and SECC leaf certificates signed from station CSRs (SignCertificate of type V2GCertificate)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sigec_actors.errors import ConfigError
from sigec_actors.pki.ca import ROOT_DAYS, SKEW, CaSigner, FileCa, Level, ensure_chain, load_ca
from sigec_actors.pki.csr import CsrRefused, check_subject, parse_csr
from sigec_actors.pki.emaid import InvalidEmaid, parse

SUB1_DAYS = 4 * 365  # ISO 15118-2 Annex F: CPO sub-CA 1 four years, sub-CA 2 one year
SUB2_DAYS = 365
CPO = x509.NameAttribute(NameOID.DOMAIN_COMPONENT, "CPO")


def _name(common_name: str, organisation: str, domain: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
                      x509.NameAttribute(NameOID.DOMAIN_COMPONENT, domain)])


def ensure_v2g_ca(directory: Path, organisation: str, now: datetime | None = None) -> FileCa:
    """Our V2G chain in `directory` (root.*, sub1.*, sub2.*; keys 0600), made on first use;
    it signs with CPO sub-CA 2."""
    return ensure_chain(directory, [
        Level("root", _name(f"{organisation} V2G Root CA", organisation, "V2G"), ROOT_DAYS),
        Level("sub1", _name(f"{organisation} CPO Sub-CA 1", organisation, "CPO"), SUB1_DAYS),
        Level("sub2", _name(f"{organisation} CPO Sub-CA 2", organisation, "CPO"), SUB2_DAYS),
    ], now)


def _p256(cert_or_key: object) -> bool:
    key = (cert_or_key.public_key() if isinstance(cert_or_key, x509.Certificate)
           else cert_or_key)
    return (isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey)
            and key.curve.name == "secp256r1")


def load_v2g_ca(cert: Path, key: Path) -> FileCa:
    """A configured V2G sub-CA: `cert` is CPO sub-CA 2 followed by sub-CA 1 and the V2G root,
    `key` its EC P-256 key (0600). ConfigError naming pki.v2g_ca_* otherwise."""
    ca = load_ca(cert, key, setting="pki.v2g_ca")
    if not _p256(ca.key) or not all(_p256(c) for c in ca.chain):
        raise ConfigError("pki.v2g_ca_key", "ISO 15118-2 wants EC P-256 (secp256r1) keys in "
                                            "the V2G chain")
    if len(ca.chain) < 2 or ca.root.issuer != ca.root.subject:
        raise ConfigError("pki.v2g_ca_cert", f"{cert} must hold the sub-CA and its parents up "
                                             "to the self-signed V2G root")
    return ca


@dataclass(frozen=True, slots=True)
class V2gPolicy:
    """What an SECC CSR must be: CN the station identity ("station") or any one name ("any"),
    O `organisation` (empty: any); the leaf lives `valid_days` (capped by the sub-CA)."""

    organisation: str = ""
    common_name: Literal["station", "any"] = "station"
    valid_days: int = 60


def validate_v2g_csr(pem: str, station_id: str,
                     policy: V2gPolicy) -> x509.CertificateSigningRequest:
    """The parsed CSR when it is signed with ECDSA-SHA256 by an EC P-256 key and its subject
    follows the policy; CsrRefused otherwise. A CN that reads as an EMAID is refused: an SECC
    certificate must never pass for a contract certificate."""
    csr = parse_csr(pem)
    if not _p256(csr.public_key()):
        raise CsrRefused("KeyType", "ISO 15118-2 SECC certificates use EC P-256 (secp256r1)")
    if not isinstance(csr.signature_hash_algorithm, hashes.SHA256):
        raise CsrRefused("InvalidCSR", "the CSR must be signed with ECDSA-SHA256")
    common_name = check_subject(csr, station_id if policy.common_name == "station" else None,
                                policy.organisation)
    try:
        parse(common_name)
    except InvalidEmaid:
        return csr
    raise CsrRefused("InvalidCSR", f"CN {common_name[:64]!r} reads as an EMAID")


def sign_secc_csr(csr: x509.CertificateSigningRequest, ca: CaSigner, now: datetime,
                  valid_days: int) -> x509.Certificate:
    """An SECC leaf (digitalSignature + keyAgreement, DC=CPO) for the CSR's subject and key,
    issued by `ca` and ending no later than it; CsrRefused when `ca` has expired."""
    key = csr.public_key()
    issuer_end = ca.issuer.not_valid_after_utc
    if not isinstance(key, ec.EllipticCurvePublicKey) or now >= issuer_end:
        raise CsrRefused("NoV2GSubCA", f"the CPO sub-CA expired {issuer_end.isoformat()}")
    subject = csr.subject
    if CPO not in subject:
        subject = x509.Name([*subject, CPO])
    issuer_key = ca.issuer.public_key()
    assert isinstance(issuer_key, ec.EllipticCurvePublicKey)  # load_v2g_ca / ensure_v2g_ca
    builder = (x509.CertificateBuilder().subject_name(subject).public_key(key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - SKEW)
               .not_valid_after(min(now + timedelta(days=valid_days), issuer_end))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(True, False, False, False, True, False, False, False,
                                            False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key),
                              critical=False))
    return ca.sign(builder)


@dataclass(frozen=True)
class V2gSigner:
    """The V2G sub-CA with its CSR policy: `issue` validates a CSR and signs the SECC leaf."""

    ca: FileCa
    policy: V2gPolicy

    def issue(self, pem: str, station_id: str, now: datetime) -> x509.Certificate:
        csr = validate_v2g_csr(pem, station_id, self.policy)
        return sign_secc_csr(csr, self.ca, now, self.policy.valid_days)
