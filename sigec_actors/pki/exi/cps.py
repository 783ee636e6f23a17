"""The offline provider's own test CPS (certificate provisioning service) chain: a V2G root and a
CPS sub-CA kept in <data_dir>/pki/test-cps, and the provisioning signing leaf that signs
CertificateInstallation/UpdateRes, kept beside them in provisioning.pem (its key inside, mode
0600) and issued again only when it is missing or near its end. Development and tests only: a
real eMSP/CPS signs with its own chain under a real V2G root."""

from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from sigec_actors.errors import ConfigError
from sigec_actors.pki.ca import SKEW, FileCa, ensure_ca, name
from sigec_actors.private_files import write_private

LEAF_DAYS = 90
RENEW_BEFORE = timedelta(days=7)
LEAF_FILE = "provisioning.pem"

Leaf = tuple[x509.Certificate, ec.EllipticCurvePrivateKey]


def test_cps_ca(data_dir: Path) -> FileCa:
    return ensure_ca(data_dir / "pki" / "test-cps", "SIGEC-VE Test V2G Root",
                     "SIGEC-VE Test CPS Sub-CA", "SIGEC-VE Test CPS")


def _pem(leaf: Leaf) -> str:
    cert, key = leaf
    return (cert.public_bytes(serialization.Encoding.PEM) + key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())).decode()


class Provisioning:
    """The provisioning signing leaf (EC P-256) under `ca`, kept in `<ca dir>/provisioning.pem`.

    Every node on the data dir signs with the same leaf: the first to need one writes it (a hard
    link, so a second node starting at the same time reads the winner), and it is issued again
    (written whole, atomically) once it is within RENEW_BEFORE of its end. A file readable by
    others than its owner is a ConfigError at start, like a CA key.
    """

    def __init__(self, ca: FileCa, directory: Path) -> None:
        self.ca = ca
        self.path = directory / LEAF_FILE
        self._leaf: Leaf | None = self._read()

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Provisioning:
        return cls(test_cps_ca(data_dir), data_dir / "pki" / "test-cps")

    @property
    def v2g_root(self) -> x509.Certificate:
        return self.ca.root

    @property
    def subs(self) -> tuple[x509.Certificate, ...]:
        """The sub-CAs between the leaf and the V2G root (the root is not sent)."""
        return self.ca.chain[:-1]

    def signer(self, now: datetime) -> Leaf:
        """The leaf and its key: the kept one while it is not near its end, else a new one."""
        for leaf in (self._leaf, self._read()):  # another node may have renewed it
            if leaf is not None and leaf[0].not_valid_after_utc - RENEW_BEFORE > now:
                self._leaf = leaf
                return leaf
        leaf = self._issue(now)
        if self.path.exists():
            write_private(self.path, _pem(leaf))
        else:
            self._create(leaf)
            leaf = self._read() or leaf  # the first node's, if two created it at once
        self._leaf = leaf
        return leaf

    def _create(self, leaf: Leaf) -> None:
        candidate = self.path.with_name(f".{LEAF_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
        write_private(candidate, _pem(leaf))
        try:
            os.link(candidate, self.path)
        except FileExistsError:
            pass
        finally:
            candidate.unlink()

    def _read(self) -> Leaf | None:
        """The kept leaf, or None when there is none or it is not ours (not issued by our CPS
        sub-CA, or its key does not match)."""
        try:
            data = self.path.read_bytes()
            mode = self.path.stat().st_mode
        except FileNotFoundError:
            return None
        if mode & 0o077:
            raise ConfigError("pki.contract_provider",
                              f"{self.path} must be readable by its owner only (chmod 600)")
        try:
            cert = x509.load_pem_x509_certificate(data)
            key = serialization.load_pem_private_key(data, password=None)
            cert.verify_directly_issued_by(self.ca.issuer)
        except (ValueError, TypeError, InvalidSignature):
            return None
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.public_key() != (
                cert.public_key()):
            return None
        return cert, key

    def _issue(self, now: datetime) -> Leaf:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.ca.sign(
            x509.CertificateBuilder().subject_name(name("SIGEC-VE Test CPS Leaf",
                                                        "SIGEC-VE Test CPS"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - SKEW).not_valid_after(now + timedelta(days=LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True))
        return cert, key
