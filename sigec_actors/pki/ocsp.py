"""OCSP: requests from certificates or OCPP hash data, allow-listed responders, a cache."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtendedKeyUsageOID

from sigec_actors.errors import SigecError
from sigec_actors.ocpp.generated.v201 import HashAlgorithmEnum, OCSPRequestData
from sigec_actors.pki.fetch import fetch

_HASHES: dict[str, Callable[[], hashes.HashAlgorithm]] = {
    "SHA256": hashes.SHA256, "SHA384": hashes.SHA384, "SHA512": hashes.SHA512}
MAX_RESPONSE_BYTES = 64 * 1024


class Revocation(StrEnum):
    GOOD = "good"
    REVOKED = "revoked"
    UNKNOWN = "unknown"


class OcspUnavailable(SigecError):
    """No allow-listed responder answered usably; `reason` says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"OCSP unavailable: {reason}")


@dataclass(frozen=True, slots=True)
class OcspQuery:
    """One certificate's OCSP CertID (hex strings as OCPP carries them)."""

    hash_algorithm: str
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str

    @classmethod
    def of_certificate(cls, cert: x509.Certificate, issuer: x509.Certificate) -> OcspQuery:
        request = ocsp.OCSPRequestBuilder().add_certificate(
            cert, issuer, hashes.SHA256()).build()
        return cls("SHA256", request.issuer_name_hash.hex(), request.issuer_key_hash.hex(),
                   format(request.serial_number, "x"))

    @classmethod
    def of_wire(cls, data: OCSPRequestData) -> OcspQuery:
        return cls(data.hash_algorithm.value, data.issuer_name_hash.lower(),
                   data.issuer_key_hash.lower(), data.serial_number.lower().lstrip("0") or "0")

    def wire(self, responder_url: str = "") -> OCSPRequestData:
        return OCSPRequestData(hash_algorithm=HashAlgorithmEnum(self.hash_algorithm),
                               issuer_name_hash=self.issuer_name_hash,
                               issuer_key_hash=self.issuer_key_hash,
                               serial_number=self.serial_number, responder_url=responder_url)

    def der(self) -> bytes:
        """The DER OCSPRequest; ValueError on malformed hex or an unknown algorithm."""
        make = _HASHES.get(self.hash_algorithm)
        if make is None:
            raise ValueError(f"unknown hash algorithm {self.hash_algorithm}")
        return ocsp.OCSPRequestBuilder().add_certificate_by_hash(
            bytes.fromhex(self.issuer_name_hash), bytes.fromhex(self.issuer_key_hash),
            int(self.serial_number, 16), make()).build().public_bytes(
                Encoding.DER)


@dataclass(frozen=True, slots=True)
class OcspAnswer:
    der: bytes
    status: Revocation
    next_update: datetime | None
    responder: str


class OcspTransport(Protocol):
    """POSTs a DER OCSP request (application/ocsp-request) and returns the response body."""

    async def post(self, url: str, body: bytes, timeout_s: float) -> bytes: ...


class AiohttpOcspTransport:
    """OCSP over HTTP with aiohttp; responses larger than 64 KiB are refused."""

    async def post(self, url: str, body: bytes, timeout_s: float) -> bytes:
        return await fetch(url, timeout_s=timeout_s, max_bytes=MAX_RESPONSE_BYTES,
                           fail=OcspUnavailable, body=body,
                           content_type="application/ocsp-request")


def aia_ocsp_urls(cert: x509.Certificate) -> list[str]:
    """The OCSP responder URLs in a certificate's authorityInfoAccess."""
    try:
        aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    except x509.ExtensionNotFound:
        return []
    return [d.access_location.value for d in aia
            if d.access_method == AuthorityInformationAccessOID.OCSP
            and isinstance(d.access_location, x509.UniformResourceIdentifier)]


def _verify_with(key: object, signature: bytes, data: bytes,
                 algorithm: hashes.HashAlgorithm | None) -> bool:
    if algorithm is None:
        return False
    try:
        if isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, data, padding.PKCS1v15(), algorithm)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def signed_by(resp: ocsp.OCSPResponse, issuer: x509.Certificate) -> bool:
    """True when `issuer`, or a responder certificate it issued for OCSP signing, signed it."""
    algorithm = resp.signature_hash_algorithm
    if _verify_with(issuer.public_key(), resp.signature, resp.tbs_response_bytes, algorithm):
        return True
    for delegate in resp.certificates:
        try:
            delegate.verify_directly_issued_by(issuer)
            eku = delegate.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        except (ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound):
            continue
        if ExtendedKeyUsageOID.OCSP_SIGNING in eku and _verify_with(
                delegate.public_key(), resp.signature, resp.tbs_response_bytes, algorithm):
            return True
    return False


_STATUS = {ocsp.OCSPCertStatus.GOOD: Revocation.GOOD,
           ocsp.OCSPCertStatus.REVOKED: Revocation.REVOKED,
           ocsp.OCSPCertStatus.UNKNOWN: Revocation.UNKNOWN}


class OcspClient:
    """Asks allow-listed responders only, and caches each answer until its nextUpdate.

    A URL named by a station or a certificate is used only when it is on the allow-list;
    otherwise the first configured responder is asked (never an arbitrary URL: SSRF).
    """

    def __init__(self, responders: Sequence[str], transport: OcspTransport,
                 now: Callable[[], datetime], *, timeout_s: float = 5.0) -> None:
        self._allowed = tuple(responders)
        self._transport = transport
        self._now = now
        self._timeout = timeout_s
        self._cache: dict[OcspQuery, OcspAnswer] = {}
        self._locks: dict[OcspQuery, asyncio.Lock] = {}

    @property
    def configured(self) -> bool:
        return bool(self._allowed)

    def responder_for(self, candidates: Sequence[str]) -> str | None:
        for url in candidates:
            if url in self._allowed:
                return url
        return self._allowed[0] if self._allowed else None

    def cached(self, query: OcspQuery) -> OcspAnswer | None:
        answer = self._cache.get(query)
        if answer is None or answer.next_update is None or self._now() >= answer.next_update:
            return None
        return answer

    async def check(self, query: OcspQuery, candidates: Sequence[str] = (),
                    issuer: x509.Certificate | None = None) -> OcspAnswer:
        """The responder's answer for `query` (cached until nextUpdate). With `issuer`, the
        response must be signed by it (or its OCSP delegate). OcspUnavailable otherwise."""
        hit = self.cached(query)
        if hit is not None:
            return hit
        lock = self._locks.setdefault(query, asyncio.Lock())
        async with lock:  # one request per CertID at a time; the others take its answer
            hit = self.cached(query)
            if hit is not None:
                return hit
            answer = await self._ask(query, candidates, issuer)
            if answer.next_update is not None:
                self._cache[query] = answer
            return answer

    async def _ask(self, query: OcspQuery, candidates: Sequence[str],
                   issuer: x509.Certificate | None) -> OcspAnswer:
        url = self.responder_for(candidates)
        if url is None:
            raise OcspUnavailable("no OCSP responder is configured (pki.ocsp_responders)")
        try:
            body = query.der()
        except ValueError as exc:
            raise OcspUnavailable(f"bad request data: {exc}") from exc
        der = await self._transport.post(url, body, self._timeout)
        try:
            resp = ocsp.load_der_ocsp_response(der)
        except ValueError as exc:
            raise OcspUnavailable(f"{url} answered no OCSP response") from exc
        if resp.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL:
            raise OcspUnavailable(f"{url} answered {resp.response_status.name}")
        if format(resp.serial_number, "x") != query.serial_number:
            raise OcspUnavailable(f"{url} answered for another serial number")
        if issuer is not None and not signed_by(resp, issuer):
            raise OcspUnavailable(f"{url}'s answer is not signed by the issuer")
        return OcspAnswer(der, _STATUS[resp.certificate_status], resp.next_update_utc, url)
