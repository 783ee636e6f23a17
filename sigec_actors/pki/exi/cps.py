"""The offline provider's own test CPS (certificate provisioning service) chain: a V2G root and a
CPS sub-CA kept in <data_dir>/pki/test-cps, and a provisioning signing leaf issued under it in
memory (SAProvisioningCertificateChain signs CertificateInstallation/UpdateRes). Development and
tests only: a real eMSP/CPS signs with its own chain under a real V2G root."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from sigec_actors.pki.ca import SKEW, FileCa, ensure_ca, name

LEAF_DAYS = 90
RENEW_BEFORE = timedelta(days=1)


def test_cps_ca(data_dir: Path) -> FileCa:
    return ensure_ca(data_dir / "pki" / "test-cps", "SIGEC-VE Test V2G Root",
                     "SIGEC-VE Test CPS Sub-CA", "SIGEC-VE Test CPS")


class Provisioning:
    """The provisioning signing leaf (EC P-256), reissued in memory before it expires."""

    def __init__(self, ca: FileCa) -> None:
        self.ca = ca
        self._leaf: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None = None

    @property
    def v2g_root(self) -> x509.Certificate:
        return self.ca.root

    @property
    def subs(self) -> tuple[x509.Certificate, ...]:
        """The sub-CAs between the leaf and the V2G root (the root is not sent)."""
        return self.ca.chain[:-1]

    def signer(self, now: datetime) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
        if self._leaf is not None and self._leaf[0].not_valid_after_utc - RENEW_BEFORE > now:
            return self._leaf
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self.ca.sign(
            x509.CertificateBuilder().subject_name(name("SIGEC-VE Test CPS Leaf",
                                                        "SIGEC-VE Test CPS"))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - SKEW).not_valid_after(now + timedelta(days=LEAF_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False,
                                         False), critical=True))
        self._leaf = (cert, key)
        return self._leaf
