"""Station certificates (A02/A03): SignCertificate -> validate and sign -> CertificateSigned,
and GetCertificateStatus as an OCSP proxy for the station."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import datetime

import msgspec
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sigec_actors.charge_point.errors import CommandError
from sigec_actors.ocpp.generated.v201 import (
    CertificateSignedRequest,
    CertificateSignedResponse,
    CertificateSignedStatusEnum,
    CertificateSigningUseEnum,
    GenericStatusEnum,
    GetCertificateStatusEnum,
    GetCertificateStatusRequest,
    GetCertificateStatusResponse,
    SignCertificateRequest,
    SignCertificateResponse,
    StatusInfo,
)
from sigec_actors.pki.ca import CaSigner, pem
from sigec_actors.pki.csr import CsrPolicy, CsrRefused, sign_station_csr, validate_csr
from sigec_actors.pki.ocsp import OcspClient, OcspQuery, OcspUnavailable
from sigec_actors.pki.store import CertificateStore, IssuedCertificate
from sigec_actors.pki.v2g import V2gSigner
from sigec_actors.runtime import ActorDead, MailboxFull

log = structlog.get_logger("pki.stations")
Send = Callable[[str, msgspec.Struct], Awaitable[msgspec.Struct]]
"""(station_id, request) -> the station's response: the node's commander for system jobs."""
Spawn = Callable[[Awaitable[None]], object]


def _info(reason: str, detail: str) -> StatusInfo:
    return StatusInfo(reason_code=reason[:20], additional_info=detail[:512])


class StationCertificates:
    """Signs station CSRs with our issuing CA and delivers them with CertificateSigned."""

    def __init__(self, ca: CaSigner, policy: CsrPolicy, store: CertificateStore, send: Send,
                 now: Callable[[], datetime], spawn: Spawn, v2g: V2gSigner | None = None
                 ) -> None:
        self._ca = ca
        self._v2g = v2g
        self._policy = policy
        self._store = store
        self._send = send
        self._now = now
        self._spawn = spawn

    async def sign_certificate(self, station_id: str,
                               req: SignCertificateRequest) -> SignCertificateResponse:
        kind = req.certificate_type or CertificateSigningUseEnum.CHARGING_STATION_CERTIFICATE
        try:
            cert, ca = self._issue(station_id, kind, req.csr)
        except CsrRefused as exc:
            log.warning("pki_csr_refused", station=station_id, reason=exc.reason,
                        detail=exc.detail, certificate_type=kind.value)
            return SignCertificateResponse(status=GenericStatusEnum.REJECTED,
                                           status_info=_info(exc.reason, exc.detail))
        issued = IssuedCertificate(
            serial_number=format(cert.serial_number, "x"), charge_point_id=station_id,
            certificate_type=kind.value, subject=cert.subject.rfc4514_string(),
            certificate_pem=cert.public_bytes(serialization.Encoding.PEM).decode(),
            valid_from=cert.not_valid_before_utc, valid_to=cert.not_valid_after_utc)
        await self._store.record_issued(issued)  # stored before the station hears "Accepted"
        chain = pem(cert, *ca.chain[:-1])  # leaf and sub-CAs; stations hold the root
        self._spawn(self._deliver(station_id, issued, CertificateSignedRequest(
            certificate_chain=chain, certificate_type=kind)))
        log.info("pki_csr_signed", station=station_id, serial=issued.serial_number,
                 certificate_type=kind.value, valid_to=issued.valid_to.isoformat())
        return SignCertificateResponse(status=GenericStatusEnum.ACCEPTED)

    def _issue(self, station_id: str, kind: CertificateSigningUseEnum, csr_pem: str
               ) -> tuple[x509.Certificate, CaSigner]:
        """The signed certificate and the CA that signed it; CsrRefused if the CSR is not
        acceptable or there is no V2G sub-CA for a V2GCertificate."""
        if kind is CertificateSigningUseEnum.V2_GCERTIFICATE:
            if self._v2g is None:
                raise CsrRefused("NoV2GSubCA", "this CSMS has no V2G sub-CA")
            return self._v2g.issue(csr_pem, station_id, self._now()), self._v2g.ca
        csr = validate_csr(csr_pem, station_id, self._policy)
        return sign_station_csr(csr, self._ca, self._now(), self._policy.valid_days), self._ca

    async def _deliver(self, station_id: str, issued: IssuedCertificate,
                       request: CertificateSignedRequest) -> None:
        """Send CertificateSigned (after the SignCertificate answer: the actor's mailbox keeps
        the order) and record whether the station took the certificate."""
        try:
            answer = await self._send(station_id, request)
        except (CommandError, ActorDead, MailboxFull) as exc:  # offline, busy, no answer
            log.error("pki_certificate_signed_failed", station=station_id,
                      serial=issued.serial_number, error=f"{type(exc).__name__}: {exc}")
            return
        ok = (isinstance(answer, CertificateSignedResponse)
              and answer.status is CertificateSignedStatusEnum.ACCEPTED)
        await self._store.set_status(issued.serial_number, "Accepted" if ok else "Rejected")
        log.info("pki_certificate_delivered", station=station_id, serial=issued.serial_number,
                 accepted=ok)


class OcspProxy:
    """GetCertificateStatus: the station's OCSP request, asked of an allow-listed responder."""

    def __init__(self, ocsp: OcspClient) -> None:
        self._ocsp = ocsp

    async def certificate_status(self, station_id: str, req: GetCertificateStatusRequest
                                 ) -> GetCertificateStatusResponse:
        data = req.ocsp_request_data
        try:
            answer = await self._ocsp.check(OcspQuery.of_wire(data), [data.responder_url])
        except OcspUnavailable as exc:
            log.warning("pki_ocsp_proxy_failed", station=station_id, reason=exc.reason)
            return GetCertificateStatusResponse(status=GetCertificateStatusEnum.FAILED,
                                                status_info=_info("OcspUnavailable",
                                                                  exc.reason))
        return GetCertificateStatusResponse(status=GetCertificateStatusEnum.ACCEPTED,
                                            ocsp_result=base64.b64encode(answer.der).decode())
