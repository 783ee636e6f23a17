"""CRLs: revocation lists from allow-listed URLs (a certificate's distribution points only when
listed) or local files, cached until their nextUpdate, used only when the issuer signed them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Protocol

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from sigec_actors.errors import SigecError
from sigec_actors.pki.ca import SKEW
from sigec_actors.pki.fetch import fetch
from sigec_actors.pki.ocsp import Revocation

log = structlog.get_logger("pki.crl")
MAX_CRL_BYTES = 4 * 1024 * 1024


class CrlUnavailable(SigecError):
    """No usable CRL for the certificate's issuer; `reason` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"CRL unavailable: {reason}")


class CrlTransport(Protocol):
    """GETs a CRL (DER or PEM) and returns the body."""

    async def get(self, url: str, timeout_s: float) -> bytes: ...


class AiohttpCrlTransport:
    """CRLs over HTTP with aiohttp: no redirects, bodies over 4 MiB refused."""

    async def get(self, url: str, timeout_s: float) -> bytes:
        return await fetch(url, timeout_s=timeout_s, max_bytes=MAX_CRL_BYTES,
                           fail=CrlUnavailable)


def distribution_points(cert: x509.Certificate) -> list[str]:
    """The URLs in a certificate's cRLDistributionPoints."""
    try:
        points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    except x509.ExtensionNotFound:
        return []
    return [name.value for point in points for name in point.full_name or ()
            if isinstance(name, x509.UniformResourceIdentifier)]


def parse_crl(data: bytes) -> x509.CertificateRevocationList:
    """A DER or PEM CRL; ValueError otherwise."""
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_crl(data)
    return x509.load_der_x509_crl(data)


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _covers(crl: x509.CertificateRevocationList, cert: x509.Certificate) -> bool:
    """False for CRLs that are not a complete list for `cert`: delta CRLs, indirect ones,
    ones partitioned by reason or limited to the other kind of certificate."""
    try:
        crl.extensions.get_extension_for_class(x509.DeltaCRLIndicator)
        return False
    except x509.ExtensionNotFound:
        pass
    try:
        idp = crl.extensions.get_extension_for_class(x509.IssuingDistributionPoint).value
    except x509.ExtensionNotFound:
        return True
    return not (idp.indirect_crl or idp.only_some_reasons or idp.only_contains_attribute_certs
                or (idp.only_contains_user_certs and _is_ca(cert))
                or (idp.only_contains_ca_certs and not _is_ca(cert)))


def signed_by(crl: x509.CertificateRevocationList, issuer: x509.Certificate) -> bool:
    """True when `issuer` (named as the CRL's issuer, allowed to sign CRLs) signed it."""
    if crl.issuer != issuer.subject:
        return False
    try:
        if not issuer.extensions.get_extension_for_class(x509.KeyUsage).value.crl_sign:
            return False
    except x509.ExtensionNotFound:
        pass
    key = issuer.public_key()
    return isinstance(key, ec.EllipticCurvePublicKey | rsa.RSAPublicKey) and (
        crl.is_signature_valid(key))


@dataclass
class _Entry:
    """A downloaded CRL, its revoked serials, and the issuers it was verified against."""

    crl: x509.CertificateRevocationList
    serials: frozenset[int]
    signers: set[bytes] = field(default_factory=set)

    @classmethod
    def of(cls, crl: x509.CertificateRevocationList) -> _Entry:
        return cls(crl, frozenset(revoked.serial_number for revoked in crl))

    def signed_by(self, issuer: x509.Certificate) -> bool:
        """`signed_by(crl, issuer)`, checked once per issuer certificate."""
        fingerprint = issuer.fingerprint(hashes.SHA256())
        if fingerprint not in self.signers:
            if not signed_by(self.crl, issuer):
                return False
            self.signers.add(fingerprint)
        return True


class CrlChecker:
    """Checks a certificate against its issuer's CRL from the allow-listed URLs or the files.

    A certificate's distribution point is fetched only when it is in `urls` (never another URL:
    SSRF); the listed URLs and the files are the other sources. Each source's CRL is kept
    until its nextUpdate (one download per source at a time); a CRL past its nextUpdate, or
    without one (RFC 5280 requires it), is not used.
    """

    def __init__(self, urls: Sequence[str], files: Sequence[str], transport: CrlTransport,
                 now: Callable[[], datetime], *, timeout_s: float = 3.0) -> None:
        self._urls = tuple(urls)
        self._files = tuple(files)
        self._transport = transport
        self._now = now
        self._timeout = timeout_s
        self._cache: dict[str, _Entry] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.downloads = 0  # URL fetches (files are read, not counted)

    @property
    def configured(self) -> bool:
        return bool(self._urls or self._files)

    def sources_for(self, cert: x509.Certificate) -> list[str]:
        """Files first, then the certificate's listed distribution points, then the other URLs."""
        points = [url for url in distribution_points(cert) if url in self._urls]
        return [*self._files, *points, *(url for url in self._urls if url not in points)]

    async def check(self, cert: x509.Certificate, issuer: x509.Certificate) -> Revocation:
        """REVOKED or GOOD by a current CRL that `issuer` signed; CrlUnavailable otherwise."""
        loaded = await asyncio.gather(*(self._crl(s) for s in self.sources_for(cert)),
                                      return_exceptions=True)
        problems = []
        for entry in loaded:
            if isinstance(entry, CrlUnavailable):
                problems.append(entry.reason)
            elif isinstance(entry, BaseException):
                raise entry
            elif entry.crl.issuer == issuer.subject and _covers(entry.crl, cert):
                if not entry.signed_by(issuer):
                    problems.append(f"a CRL of {issuer.subject.rfc4514_string()[:80]} is not "
                                    "signed by it")
                    continue
                revoked = cert.serial_number in entry.serials
                return Revocation.REVOKED if revoked else Revocation.GOOD
        raise CrlUnavailable("; ".join(problems) or
                             f"no CRL of {issuer.subject.rfc4514_string()[:80]}")

    def _fresh(self, crl: x509.CertificateRevocationList) -> bool:
        now = self._now()
        return (crl.next_update_utc is not None and now < crl.next_update_utc
                and crl.last_update_utc <= now + SKEW)

    async def _crl(self, source: str) -> _Entry:
        hit = self._cache.get(source)
        if hit is not None and self._fresh(hit.crl):
            return hit
        async with self._locks.setdefault(source, asyncio.Lock()):
            hit = self._cache.get(source)
            if hit is not None and self._fresh(hit.crl):
                return hit
            self._cache.pop(source, None)
            crl = await self._load(source)
            if not self._fresh(crl):
                raise CrlUnavailable(f"the CRL from {source} is not current (nextUpdate "
                                     f"{crl.next_update_utc})")
            entry = self._cache[source] = _Entry.of(crl)
            return entry

    async def _load(self, source: str) -> x509.CertificateRevocationList:
        if source in self._files:
            try:
                data = await asyncio.to_thread(Path(source).read_bytes)
            except OSError as exc:
                raise CrlUnavailable(f"{source}: {exc.strerror}") from exc
        else:
            self.downloads += 1
            data = await self._transport.get(source, self._timeout)
        try:
            return parse_crl(data)
        except ValueError as exc:
            raise CrlUnavailable(f"{source} holds no CRL") from exc

