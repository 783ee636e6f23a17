"""ISO 15118 contract chains: path to a trusted V2G/MO root, then the ISO checks on the leaf."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import (
    ExtensionPolicy,
    PolicyBuilder,
    Store,
    VerificationError,
)

from sigec_actors.ocpp.generated.v201 import AuthorizeCertificateStatusEnum as CertStatus
from sigec_actors.pki.emaid import InvalidEmaid, parse


@dataclass(frozen=True, slots=True)
class ChainVerdict:
    """What a presented chain is worth: `status` Accepted with the verified `path` (leaf first,
    root last) and the leaf's EMAID, or the OCPP certificate status and a `reason`."""

    status: CertStatus
    reason: str = ""
    emaid: str | None = None
    path: tuple[x509.Certificate, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return self.status is CertStatus.ACCEPTED


def load_chain(pem: str) -> list[x509.Certificate]:
    """The certificates of a PEM bundle, in order; ValueError when there are none."""
    certs = x509.load_pem_x509_certificates(pem.encode())
    if not certs:
        raise ValueError("no certificate in the PEM text")
    return certs


def _window(certs: Sequence[x509.Certificate], now: datetime) -> ChainVerdict | None:
    for cert in certs:
        if now > cert.not_valid_after_utc:
            return ChainVerdict(CertStatus.CERTIFICATE_EXPIRED,
                                f"{_cn(cert)} expired {cert.not_valid_after_utc.isoformat()}")
        if now < cert.not_valid_before_utc:
            return ChainVerdict(CertStatus.CERT_CHAIN_ERROR,
                                f"{_cn(cert)} is not valid before "
                                f"{cert.not_valid_before_utc.isoformat()}")
    return None


def _cn(cert: x509.Certificate) -> str:
    names = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    value = names[0].value if len(names) == 1 else ""
    return value if isinstance(value, str) else value.decode(errors="replace")


def _forged(certs: Sequence[x509.Certificate]) -> bool:
    """True when a certificate names the next one as issuer but was not signed by it."""
    for cert, issuer in itertools.pairwise(certs):
        if cert.issuer != issuer.subject:
            continue
        try:
            cert.verify_directly_issued_by(issuer)
        except InvalidSignature:
            return True
        except (ValueError, TypeError):
            continue
    return False


def _iso_leaf(leaf: x509.Certificate) -> str | None:
    """The problem with a contract leaf per ISO 15118-2 (None: fine)."""
    if any(a.value == "CPO" for a in leaf.subject.get_attributes_for_oid(
            NameOID.DOMAIN_COMPONENT)):
        return "an SECC (DC=CPO) certificate is not a contract certificate"
    try:
        basic = leaf.extensions.get_extension_for_class(x509.BasicConstraints).value
        if basic.ca:
            return "the contract certificate is a CA"
    except x509.ExtensionNotFound:
        pass
    try:
        usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return "the contract certificate has no keyUsage"
    if not usage.digital_signature:
        return "the contract certificate's keyUsage lacks digitalSignature"
    return None


def _readable(pem: str, roots: Sequence[x509.Certificate], now: datetime
              ) -> list[x509.Certificate] | ChainVerdict:
    """The chain's certificates, or why it fails before any path is built."""
    try:
        certs = load_chain(pem)
    except ValueError as exc:
        return ChainVerdict(CertStatus.CERT_CHAIN_ERROR, f"unreadable PEM: {exc}")
    if not roots:
        return ChainVerdict(CertStatus.CERT_CHAIN_ERROR, "no trusted V2G or MO root")
    return _window(certs, now) or certs


def verify_contract_chain(pem: str, roots: Sequence[x509.Certificate],
                          now: datetime) -> ChainVerdict:
    """Verify a contract chain (leaf first, sub-CAs after, root optional) at `now`.

    Path building and signatures are cryptography's X.509 verifier (CA certificates under the
    web PKI CA rules: basicConstraints, pathlen, keyUsage); the leaf is held to ISO 15118
    (not a CA, digitalSignature, CN an EMAID with a valid check digit) instead of the web
    PKI's (no subjectAltName in contract certificates).
    """
    certs = _readable(pem, roots, now)
    if isinstance(certs, ChainVerdict):
        return certs
    verifier = (PolicyBuilder().store(Store(list(roots))).time(now)
                .extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                    ee_policy=ExtensionPolicy.permit_all())
                .build_client_verifier())
    try:
        verified = verifier.verify(certs[0], certs[1:])
    except VerificationError as exc:
        if _forged(certs):
            return ChainVerdict(CertStatus.SIGNATURE_ERROR, "a signature in the chain is wrong")
        return ChainVerdict(CertStatus.CERT_CHAIN_ERROR, f"chain not verified: {exc}")
    leaf = certs[0]
    problem = _iso_leaf(leaf)
    if problem is not None:
        return ChainVerdict(CertStatus.CERT_CHAIN_ERROR, problem)
    try:
        emaid = parse(_cn(leaf)).compact
    except InvalidEmaid as exc:
        return ChainVerdict(CertStatus.CERT_CHAIN_ERROR, f"leaf CN: {exc.reason}")
    return ChainVerdict(CertStatus.ACCEPTED, emaid=emaid, path=tuple(verified.chain))
