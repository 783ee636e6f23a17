"""Plug & Charge authorization (C07): a contract chain or its OCSP hash data, then the eMAID's
id token. Answers the AuthorizeResponse with `certificateStatus` and the owner's idTokenInfo."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

import structlog
from cryptography import x509

from sigec_actors.charge_point.ports import Authorizer
from sigec_actors.ocpp.generated.v201 import AuthorizationStatusEnum as Auth
from sigec_actors.ocpp.generated.v201 import AuthorizeCertificateStatusEnum as CertStatus
from sigec_actors.ocpp.generated.v201 import (
    AuthorizeRequest,
    AuthorizeResponse,
    IdToken,
    IdTokenEnum,
    IdTokenInfo,
)
from sigec_actors.pki.ca import pem
from sigec_actors.pki.chain import ChainVerdict, verify_contract_chain
from sigec_actors.pki.crl import CrlChecker, CrlUnavailable
from sigec_actors.pki.emaid import InvalidEmaid, normalise, parse
from sigec_actors.pki.ocsp import (
    OcspAnswer,
    OcspClient,
    OcspQuery,
    OcspUnavailable,
    Revocation,
    aia_ocsp_urls,
)
from sigec_actors.pki.store import CertificateStore, ContractCheck, RootType

log = structlog.get_logger("pki.plug_charge")


def _refused(status: CertStatus, token: Auth = Auth.INVALID) -> AuthorizeResponse:
    return AuthorizeResponse(id_token_info=IdTokenInfo(status=token), certificate_status=status)


class PlugAndCharge:
    """The certificate path of Authorize; plain tokens stay with the node's Authorizer."""

    def __init__(self, store: CertificateStore, ocsp: OcspClient, tokens: Authorizer,
                 now: Callable[[], datetime], *, ocsp_required: bool = False,
                 extra_roots: Sequence[x509.Certificate] = (),
                 crl: CrlChecker | None = None) -> None:
        self._store = store
        self._ocsp = ocsp
        self._crl = crl if crl is not None and crl.configured else None
        self._tokens = tokens
        self._now = now
        self._required = ocsp_required
        self._extra = tuple(extra_roots)

    async def authorize(self, station_id: str, request: AuthorizeRequest) -> AuthorizeResponse:
        if request.certificate:
            return await self._with_chain(station_id, request.id_token, request.certificate)
        return await self._with_hashes(station_id, request)

    async def _roots(self) -> list[x509.Certificate]:
        rows = await self._store.roots((RootType.V2G, RootType.MO))
        found = [c for r in rows for c in x509.load_pem_x509_certificates(
            r.certificate_pem.encode())]
        return [*found, *self._extra]

    async def _with_chain(self, station_id: str, token: IdToken,
                          chain: str) -> AuthorizeResponse:
        now = self._now()
        verdict = verify_contract_chain(chain, await self._roots(), now)
        if not verdict.ok:
            log.info("pnc_chain_refused", station=station_id, status=verdict.status.value,
                     reason=verdict.reason)
            expired = verdict.status is CertStatus.CERTIFICATE_EXPIRED
            return _refused(verdict.status, Auth.EXPIRED if expired else Auth.INVALID)
        assert verdict.emaid is not None
        if normalise(token.id_token) != verdict.emaid:
            log.warning("pnc_emaid_mismatch", station=station_id, emaid=verdict.emaid,
                        token=token.id_token[:36])
            return _refused(CertStatus.CERT_CHAIN_ERROR)
        revoked = await self._revoked(verdict)
        await self._record(verdict, chain, now, revoked)
        if revoked is None:
            return _refused(CertStatus.CERT_CHAIN_ERROR)  # OCSP required and unavailable
        if revoked:
            return _refused(CertStatus.CERTIFICATE_REVOKED)
        return await self._owner(station_id, verdict.emaid)

    async def _revoked(self, verdict: ChainVerdict) -> bool | None:
        """True if a certificate of the path is revoked (by OCSP or a CRL); None if revocation
        checks are required (pki.ocsp_required) and a certificate got neither an OCSP answer
        nor a usable CRL; False otherwise (nothing configured: not checked).

        The certificates are checked at once, OCSP and CRL side by side, so a slow responder
        costs one timeout, not one per certificate (the answer must fit the station's persist
        deadline)."""
        if not self._ocsp.configured and self._crl is None:
            return None if self._required else False
        pairs = await asyncio.gather(*(self._certificate(cert, issuer)
                                       for cert, issuer in itertools.pairwise(verdict.path)))
        if Revocation.REVOKED in pairs:
            return True
        return None if None in pairs and self._required else False

    async def _certificate(self, cert: x509.Certificate, issuer: x509.Certificate
                           ) -> Revocation | None:
        """REVOKED if OCSP or the CRL says so, GOOD if either answered, None if neither."""
        asks: list[Awaitable[OcspAnswer | Revocation]] = []
        if self._ocsp.configured:
            asks.append(self._ocsp.check(OcspQuery.of_certificate(cert, issuer),
                                         aia_ocsp_urls(cert), issuer))
        if self._crl is not None:
            asks.append(self._crl.check(cert, issuer))
        known = None
        for answer in await asyncio.gather(*asks, return_exceptions=True):
            if isinstance(answer, OcspUnavailable | CrlUnavailable):
                log.warning("pnc_revocation_unavailable", reason=answer.reason,
                            source=type(answer).__name__)
            elif isinstance(answer, BaseException):
                raise answer
            elif (answer.status if isinstance(answer, OcspAnswer) else answer
                  ) is Revocation.REVOKED:
                return Revocation.REVOKED
            else:
                known = Revocation.GOOD  # OCSP "unknown" counts as an answer, as before
        return known

    def _verdict(self, answers: Sequence[OcspAnswer | BaseException]) -> bool | None:
        """Revoked (True), not known revoked (False), or unknown while required (None)."""
        unknown = False
        for answer in answers:
            if isinstance(answer, OcspUnavailable):
                log.warning("pnc_ocsp_unavailable", reason=answer.reason)
                unknown = True
            elif isinstance(answer, BaseException):
                raise answer
            elif answer.status is Revocation.REVOKED:
                return True
        return None if unknown and self._required else False

    async def _record(self, verdict: ChainVerdict, chain: str, now: datetime,
                      revoked: bool | None) -> None:
        leaf = verdict.path[0]
        status = ("CertificateRevoked" if revoked else
                  "CertChainError" if revoked is None else "Accepted")
        assert verdict.emaid is not None
        await self._store.record_contract(ContractCheck(
            emaid=verdict.emaid, serial_number=format(leaf.serial_number, "x"),
            certificate_pem=pem(leaf), chain_pem=chain, valid_from=leaf.not_valid_before_utc,
            valid_to=leaf.not_valid_after_utc, status=status, checked_at=now,
            revoked=bool(revoked)))

    async def _with_hashes(self, station_id: str, request: AuthorizeRequest
                           ) -> AuthorizeResponse:
        try:
            emaid = parse(request.id_token.id_token).compact
        except InvalidEmaid as exc:
            log.info("pnc_bad_emaid", station=station_id, reason=exc.reason)
            return _refused(CertStatus.CERT_CHAIN_ERROR)
        hashes = request.iso15118_certificate_hash_data or ()
        revoked = self._verdict(await asyncio.gather(*(
            self._ocsp.check(OcspQuery.of_wire(d), [d.responder_url]) for d in hashes),
            return_exceptions=True))
        if revoked is None:
            return _refused(CertStatus.CERT_CHAIN_ERROR)
        if revoked:
            return _refused(CertStatus.CERTIFICATE_REVOKED)
        return await self._owner(station_id, emaid)

    async def _owner(self, station_id: str, emaid: str) -> AuthorizeResponse:
        info = await self._tokens.authorize(station_id,
                                            IdToken(id_token=emaid, type=IdTokenEnum.E_MAID))
        if info.status is not Auth.ACCEPTED:  # C07.FR.13: a valid chain, a refused contract
            return AuthorizeResponse(id_token_info=info,
                                     certificate_status=CertStatus.CONTRACT_CANCELLED)
        return AuthorizeResponse(id_token_info=info, certificate_status=CertStatus.ACCEPTED)
