"""Our CA: a CSMS root and a station-issuing CA kept in the data directory (keys 0600), or the
operator's own CA from configured files. `CaSigner` is the seam an HSM adapter would fill."""

from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Sequence
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


@dataclass(frozen=True, slots=True)
class Level:
    """One CA of a chain to generate: its file stem, subject and lifetime."""

    stem: str
    subject: x509.Name
    days: int


def _generate(directory: Path, levels: Sequence[Level], now: datetime) -> None:
    """A chain of EC P-256 CAs, root first, each signed by the one before (SHA-256); the last
    signs leaves only (pathlen 0). Keys `<stem>.key` 0600, certificates `<stem>.crt`."""
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None
    for depth, level in enumerate(levels):
        key = ec.generate_private_key(ec.SECP256R1())
        builder = ca_builder(level.subject, key.public_key(), now, level.days,
                             len(levels) - 1 - depth)
        if issuer is None:
            cert = builder.issuer_name(level.subject).sign(key, hashes.SHA256())
        else:
            cert = (builder.issuer_name(issuer[0].subject)
                    .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                        issuer[1].public_key()), critical=False)
                    .sign(issuer[1], hashes.SHA256()))
        _write(directory / f"{level.stem}.key", _key_pem(key), 0o600)
        _write(directory / f"{level.stem}.crt", _cert_pem(cert), 0o644)
        issuer = (cert, key)


def ensure_chain(directory: Path, levels: Sequence[Level],
                 now: datetime | None = None) -> FileCa:
    """The CA chain in `directory` (`levels` root first), created on first use; the last level
    is the signing CA.

    Several nodes may start at once on a fresh data dir: each builds a complete chain in its
    own temporary directory and renames it into place; the first rename wins, the others load it.
    """
    last = levels[-1].stem
    if not (directory / f"{last}.crt").exists():
        directory.parent.mkdir(parents=True, exist_ok=True)
        scratch = directory.with_name(f".{directory.name}.{os.getpid()}.{secrets.token_hex(4)}")
        scratch.mkdir(mode=0o700)
        try:
            _generate(scratch, levels, now or datetime.now(UTC))
            os.rename(scratch, directory)
        except OSError:
            if not (directory / f"{last}.crt").exists():
                raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
    parents = [directory / f"{level.stem}.crt" for level in reversed(levels[:-1])]
    return load_ca(directory / f"{last}.crt", directory / f"{last}.key", *parents)


def ensure_ca(directory: Path, root_cn: str, issuing_cn: str, organisation: str,
              now: datetime | None = None) -> FileCa:
    """A root and an issuing CA (EC P-256) in `directory`, created on first use."""
    return ensure_chain(directory, [Level("root", name(root_cn, organisation), ROOT_DAYS),
                                    Level("issuing", name(issuing_cn, organisation),
                                          ISSUING_DAYS)], now)


def load_ca(cert: Path, key: Path, *parents: Path, setting: str = "pki.ca") -> FileCa:
    """A CA from PEM files: the issuing certificate (optionally followed by its parents), its
    key, and `parents` (up to the root) when they are not in `cert`. ConfigError naming the
    `<setting>_cert` / `<setting>_key` setting if unusable."""
    try:
        certs = x509.load_pem_x509_certificates(cert.read_bytes())
        for parent in parents:
            if parent.exists():
                certs += x509.load_pem_x509_certificates(parent.read_bytes())
        private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{setting}_cert",
                          f"cannot load the CA from {cert} / {key}: {exc}") from exc
    if key.stat().st_mode & 0o077:
        raise ConfigError(f"{setting}_key",
                          f"{key} must be readable by its owner only (chmod 600)")
    if not isinstance(private, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigError(f"{setting}_key", f"{key} is not an EC or RSA private key")
    unique = tuple({c.fingerprint(hashes.SHA256()): c for c in certs}.values())
    if _spki(private.public_key()) != _spki(unique[0].public_key()):
        raise ConfigError(f"{setting}_key", f"{key} does not match the certificate in {cert}")
    return FileCa(unique[0], unique, private)


def _spki(key: object) -> bytes:
    if not isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey):
        return b""
    return key.public_bytes(serialization.Encoding.DER,
                            serialization.PublicFormat.SubjectPublicKeyInfo)


def pem(*certs: x509.Certificate) -> str:
    """PEM text of `certs`, in order."""
    return _cert_pem(*certs).decode()
