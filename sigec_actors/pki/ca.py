"""Our CA: a CSMS root and a station-issuing CA kept in the data directory (keys 0600), or the
operator's own CA from configured files. `CaSigner` is the seam an HSM adapter would fill."""

from __future__ import annotations

import os
import secrets
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Protocol

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from cryptography.x509.oid import NameOID

from sigec_actors.errors import ConfigError

ROOT_DAYS = 3650 * 4  # V2G-style roots live for decades
ISSUING_DAYS = 3650
SKEW = timedelta(minutes=5)  # not-before in the past: stations' clocks drift


class CaSigner(Protocol):
    """Signs certificates with the issuing CA's key (file key here; an HSM adapter later)."""

    @property
    def issuer(self) -> x509.Certificate: ...

    @property
    def chain(self) -> tuple[x509.Certificate, ...]:
        """The issuing CA up to its root (the root last)."""
        ...

    def sign(self, builder: x509.CertificateBuilder) -> x509.Certificate: ...


@dataclass(frozen=True)
class FileCa:
    """A CA whose key is a PEM file (mode 0600) readable by this process."""

    issuer: x509.Certificate
    chain: tuple[x509.Certificate, ...]
    key: CertificateIssuerPrivateKeyTypes

    def sign(self, builder: x509.CertificateBuilder) -> x509.Certificate:
        return builder.issuer_name(self.issuer.subject).sign(self.key, hashes.SHA256())

    @property
    def root(self) -> x509.Certificate:
        return self.chain[-1]


def name(common_name: str, organisation: str = "", *extra: x509.NameAttribute[str]
         ) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organisation:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation))
    return x509.Name([*attrs, *extra])


def ca_builder(subject: x509.Name, public_key: ec.EllipticCurvePublicKey, now: datetime,
               days: int, path_length: int | None) -> x509.CertificateBuilder:
    """A CA certificate's fields (issuer and signature are the signer's)."""
    return (x509.CertificateBuilder().subject_name(subject).public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - SKEW).not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                         False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False))


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def _cert_pem(*certs: x509.Certificate) -> bytes:
    return b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _generate(directory: Path, root_cn: str, issuing_cn: str, organisation: str,
              now: datetime) -> None:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root_name = name(root_cn, organisation)
    root = ca_builder(root_name, root_key.public_key(), now, ROOT_DAYS, 1).issuer_name(
        root_name).sign(root_key, hashes.SHA256())
    key = ec.generate_private_key(ec.SECP256R1())
    issuing = (ca_builder(name(issuing_cn, organisation), key.public_key(), now, ISSUING_DAYS, 0)
               .issuer_name(root.subject)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                   root_key.public_key()), critical=False)
               .sign(root_key, hashes.SHA256()))
    _write(directory / "root.key", _key_pem(root_key), 0o600)
    _write(directory / "issuing.key", _key_pem(key), 0o600)
    _write(directory / "root.crt", _cert_pem(root), 0o644)
    _write(directory / "issuing.crt", _cert_pem(issuing), 0o644)


def ensure_ca(directory: Path, root_cn: str, issuing_cn: str, organisation: str,
              now: datetime | None = None) -> FileCa:
    """The CA in `directory`, created on first use (a root and an issuing CA, EC P-256).

    Several nodes may start at once on a fresh data dir: each builds a complete CA in its own
    temporary directory and renames it into place; the first rename wins, the others load it.
    """
    if not (directory / "issuing.crt").exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        scratch = directory.with_name(f".{directory.name}.{os.getpid()}.{secrets.token_hex(4)}")
        scratch.mkdir(mode=0o700)
        try:
            _generate(scratch, root_cn, issuing_cn, organisation, now or datetime.now(UTC))
            os.rename(scratch, directory)
        except OSError:
            if not (directory / "issuing.crt").exists():
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    return load_ca(directory / "issuing.crt", directory / "issuing.key",
                   directory / "root.crt")


def load_ca(cert: Path, key: Path, root: Path | None = None) -> FileCa:
    """A CA from PEM files: the issuing certificate (optionally followed by its parents), its
    key, and the root when it is not in `cert`. ConfigError naming the pki setting if unusable."""
    try:
        certs = x509.load_pem_x509_certificates(cert.read_bytes())
        if root is not None and root.exists():
            certs += x509.load_pem_x509_certificates(root.read_bytes())
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigError("pki.ca_cert", f"cannot load the CA from {cert} / {key}: {exc}") from exc
    if key.stat().st_mode & 0o077:
        raise ConfigError("pki.ca_key", f"{key} must be readable by its owner only (chmod 600)")
    if not isinstance(private, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigError("pki.ca_key", f"{key} is not an EC or RSA private key")
    unique = tuple({c.fingerprint(hashes.SHA256()): c for c in certs}.values())
    return FileCa(unique[0], unique, private)


def pem(*certs: x509.Certificate) -> str:
    """PEM text of `certs`, in order."""
    return _cert_pem(*certs).decode()
