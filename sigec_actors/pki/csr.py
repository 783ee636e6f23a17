"""Station CSRs (SignCertificate, A02/A03): validation against the station and our policy,
then signing a TLS client certificate with the station-issuing CA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from sigec_actors.errors import SigecError
from sigec_actors.pki.ca import SKEW, CaSigner

EC_CURVES = {"secp256r1": 256, "secp384r1": 384, "secp521r1": 521}


class CsrRefused(SigecError):
    """The CSR is not acceptable; `reason` is a short code for OCPP statusInfo, `detail` why."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"CSR refused ({reason}): {detail}")


@dataclass(frozen=True, slots=True)
class CsrPolicy:
    """What a station CSR must be: its organisation (empty: any) and acceptable keys."""

    organisation: str = ""
    key_types: tuple[str, ...] = ("EC", "RSA")
    min_rsa_bits: int = 2048
    min_ec_bits: int = 256
    valid_days: int = 365


def _one(csr: x509.CertificateSigningRequest, oid: x509.ObjectIdentifier) -> str | None:
    values = csr.subject.get_attributes_for_oid(oid)
    if len(values) != 1:
        return None
    value = values[0].value
    return value if isinstance(value, str) else None


def _check_key(csr: x509.CertificateSigningRequest, policy: CsrPolicy) -> None:
    key = csr.public_key()
    if isinstance(key, ec.EllipticCurvePublicKey):
        bits = EC_CURVES.get(key.curve.name)
        if "EC" not in policy.key_types or bits is None or bits < policy.min_ec_bits:
            raise CsrRefused("KeyType", f"EC curve {key.curve.name} is not accepted")
    elif isinstance(key, rsa.RSAPublicKey):
        if "RSA" not in policy.key_types or key.key_size < policy.min_rsa_bits:
            raise CsrRefused("KeyType", f"RSA {key.key_size} bits is not accepted")
    else:
        raise CsrRefused("KeyType", f"{type(key).__name__} keys are not accepted")


def parse_csr(pem: str) -> x509.CertificateSigningRequest:
    """The CSR in `pem` when it is signed by its own key; CsrRefused otherwise."""
    try:
        csr = x509.load_pem_x509_csr(pem.encode())
    except ValueError as exc:
        raise CsrRefused("InvalidCSR", f"not a PEM certificate signing request: {exc}") from exc
    if not csr.is_signature_valid:
        raise CsrRefused("InvalidSignature", "the CSR is not signed by its own key")
    return csr


def check_subject(csr: x509.CertificateSigningRequest, station_id: str | None,
                  organisation: str) -> str:
    """The CSR's CN; CsrRefused unless it is `station_id` (None: any one CN) and O is
    `organisation` (empty: any)."""
    common_name = _one(csr, NameOID.COMMON_NAME)
    if common_name is None or not common_name or (
            station_id is not None and common_name != station_id):
        wanted = f"the station identity {station_id!r}" if station_id else "one non-empty name"
        raise CsrRefused("InvalidCSR", f"CN {str(common_name)[:64]!r} is not {wanted}")
    if organisation and _one(csr, NameOID.ORGANIZATION_NAME) != organisation:
        raise CsrRefused("InvalidCSR", f"O must be {organisation!r}")
    return common_name


def validate_csr(pem: str, station_id: str, policy: CsrPolicy) -> x509.CertificateSigningRequest:
    """The parsed CSR when it is signed by its key, names `station_id` as its CN, carries the
    configured organisation and an acceptable key; CsrRefused otherwise."""
    csr = parse_csr(pem)
    check_subject(csr, station_id, policy.organisation)
    _check_key(csr, policy)
    return csr


def sign_station_csr(csr: x509.CertificateSigningRequest, ca: CaSigner, now: datetime,
                     valid_days: int) -> x509.Certificate:
    """A TLS client certificate for the CSR's subject and key, issued by `ca`."""
    key = csr.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        raise CsrRefused("KeyType", "unsupported key")
    builder = (x509.CertificateBuilder().subject_name(csr.subject).public_key(key)
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - SKEW).not_valid_after(now + timedelta(days=valid_days))
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.KeyUsage(True, False, True, False, True, False, False, False,
                                            False), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH,
                                                     ExtendedKeyUsageOID.SERVER_AUTH]),
                              critical=False)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   ca.issuer.public_key()), critical=False))  # type: ignore[arg-type]
    return ca.sign(builder)
