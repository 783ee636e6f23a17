"""Contract certificates for Get15118EVCertificate: the provider port, an offline provider that
signs with a test MO CA (the default), and an HTTP adapter for a real eMSP/PKI."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

import aiohttp
import msgspec
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from sigec_actors.ocpp.generated.v201 import (
    Get15118EVCertificateRequest,
    Get15118EVCertificateResponse,
    Iso15118EVCertificateStatusEnum,
    StatusInfo,
)
from sigec_actors.pki.ca import SKEW, FileCa, name, pem
from sigec_actors.pki.emaid import ALPHABET, check_digit
from sigec_actors.pki.exi.codec import ISO2_MSG_DEF, ExiCodec, ExiError, ExiUnavailable
from sigec_actors.pki.exi.cps import Provisioning
from sigec_actors.pki.exi.crypto import KeyWrapError, encrypt_private_key
from sigec_actors.pki.exi.messages import (
    EvRequest,
    Issued,
    MessageError,
    build_failed_response,
    build_response,
    der,
    lists_root,
    read_request,
)
from sigec_actors.pki.store import CertificateStore, ContractCheck

log = structlog.get_logger("pki.provider")
CONTRACT_DAYS = 730


class ContractProvider(Protocol):
    """Answers a station's Get15118EVCertificate (the EV's CertificateInstallation/UpdateReq)."""

    async def certificate(self, station_id: str, request: Get15118EVCertificateRequest
                          ) -> Get15118EVCertificateResponse: ...


def _failed(reason: str, detail: str) -> Get15118EVCertificateResponse:
    return Get15118EVCertificateResponse(
        status=Iso15118EVCertificateStatusEnum.FAILED, exi_response="",
        status_info=StatusInfo(reason_code=reason[:20], additional_info=detail[:512]))


def _instance(seed: bytes) -> str:
    number = int.from_bytes(hashlib.sha256(seed).digest()[:8], "big")
    chars = []
    for _ in range(9):
        number, digit = divmod(number, 36)
        chars.append(ALPHABET[digit])
    return "".join(chars)


class OfflineContractProvider:
    """Answers the EV's CertificateInstallationReq / CertificateUpdateReq (EXI) with a contract
    certificate from our test MO CA, without any eMSP.

    The request is decoded and its signature checked (OEM provisioning certificate for Install,
    the old contract certificate for Update); the answer is an EXI CertificateInstallationRes /
    CertificateUpdateRes per ISO 15118-2, signed by a provisioning leaf of the test CPS chain,
    the contract key encrypted for the EV. We keep the contract key only encrypted (PKCS#8 with
    `key_password`). For development and tests; configure `pki.contract_provider = "http"` in
    production.
    """

    def __init__(self, ca: FileCa, store: CertificateStore, now: Callable[[], datetime], *,
                 emaid_prefix: str, key_password: bytes, codec: ExiCodec,
                 cps: Provisioning) -> None:
        self._ca = ca
        self._store = store
        self._now = now
        self._prefix = emaid_prefix
        self._password = key_password
        self._codec = codec
        self.cps = cps  # its V2G root is what an EV must trust to install our contracts

    async def certificate(self, station_id: str, request: Get15118EVCertificateRequest
                          ) -> Get15118EVCertificateResponse:
        try:
            exi = base64.b64decode(request.exi_request, validate=True)
        except (binascii.Error, ValueError):
            return _failed("InvalidExi", "exiRequest is not base64")
        if request.iso15118_schema_version != ISO2_MSG_DEF:
            return _failed("SchemaNotSupported",
                           f"only {ISO2_MSG_DEF}, not {request.iso15118_schema_version[:80]}")
        return await self._answer(station_id, exi, request.action.value)

    async def _answer(self, station_id: str, exi: bytes, action: str
                      ) -> Get15118EVCertificateResponse:
        try:
            ev = await read_request(self._codec, exi, action)
            if not lists_root(ev, self.cps.v2g_root):
                return await self._no_certificate(station_id, ev, action)
            issued, record = self._issue(ev)
            answer = await build_response(self._codec, ev, issued, action)
        except ExiUnavailable as exc:
            return _failed("ExiCodecUnavailable", str(exc))
        except ExiError as exc:
            log.info("pki_contract_bad_exi", station=station_id, error=str(exc)[:200])
            return _failed("InvalidExi", f"exiRequest is not an ISO 15118-2 message: {exc}")
        except (MessageError, KeyWrapError) as exc:
            log.info("pki_contract_refused", station=station_id, error=str(exc)[:200])
            return _failed("InvalidRequest", str(exc))
        await self._store.record_contract(record)
        log.info("pki_contract_issued", station=station_id, emaid=issued.emaid, action=action)
        return Get15118EVCertificateResponse(
            status=Iso15118EVCertificateStatusEnum.ACCEPTED,
            exi_response=base64.b64encode(answer).decode())

    async def _no_certificate(self, station_id: str, ev: EvRequest, action: str
                              ) -> Get15118EVCertificateResponse:
        """The EV trusts none of the V2G roots our provisioning chains end in, so it could not
        verify an answer signed by them: ISO 15118-2's FAILED_NoCertificateAvailable, in EXI,
        for the EV; the reason in statusInfo, for the operator."""
        answer = await build_failed_response(self._codec, ev, action,
                                             "FAILED_NoCertificateAvailable")
        listed = "; ".join(f"{name} #{serial:x}" for name, serial in ev.root_ids) or "none"
        ours = self.cps.v2g_root
        log.info("pki_contract_no_trusted_root", station=station_id, listed=listed[:300])
        return Get15118EVCertificateResponse(
            status=Iso15118EVCertificateStatusEnum.ACCEPTED,
            exi_response=base64.b64encode(answer).decode(),
            status_info=StatusInfo(
                reason_code="NoTrustedV2GRoot", additional_info=(
                    f"the EV trusts none of our V2G roots ({ours.subject.rfc4514_string()} "
                    f"#{ours.serial_number:x}); it lists {listed}")[:512]))

    def _issue(self, ev: EvRequest) -> tuple[Issued, ContractCheck]:
        if ev.emaid:
            emaid = ev.emaid  # Update keeps the contract's eMAID
        else:
            body = self._prefix + _instance(der(ev.signer))  # the same car, the same eMAID
            emaid = body + check_digit(body)
        now = self._now()
        key = ec.generate_private_key(ec.SECP256R1())
        cert = self._ca.sign(
            x509.CertificateBuilder().subject_name(name(emaid, "", x509.NameAttribute(
                NameOID.DOMAIN_COMPONENT, "MO"))).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - SKEW)
            .not_valid_after(now + timedelta(days=CONTRACT_DAYS))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, True, True, False, True, False, False, False,
                                         False), critical=True))
        recipient = ev.signer.public_key()
        assert isinstance(recipient, ec.EllipticCurvePublicKey)  # read_request checked it
        dh_public, encrypted_key = encrypt_private_key(recipient, key)
        leaf, leaf_key = self.cps.signer(now)
        subs = self._ca.chain[:-1]
        issued = Issued(contract=cert, contract_subs=subs, dh_public=dh_public,
                        encrypted_key=encrypted_key, emaid=emaid, provisioning=leaf,
                        provisioning_subs=self.cps.subs, provisioning_key=leaf_key)
        stored = key.private_bytes(serialization.Encoding.DER,
                                   serialization.PrivateFormat.PKCS8,
                                   serialization.BestAvailableEncryption(self._password))
        return issued, ContractCheck(
            emaid=emaid, serial_number=format(cert.serial_number, "x"),
            certificate_pem=pem(cert), chain_pem=pem(cert, *subs),
            valid_from=cert.not_valid_before_utc, valid_to=cert.not_valid_after_utc,
            status="Issued", checked_at=now, private_key_enc=stored)


class _ProviderAnswer(msgspec.Struct, frozen=True):
    status: Iso15118EVCertificateStatusEnum
    exi_response: str = msgspec.field(default="", name="exiResponse")


class HttpContractProvider:
    """Forwards the EXI request to an eMSP/PKI endpoint (JSON: iso15118SchemaVersion, action,
    exiRequest -> status, exiResponse) and relays its answer."""

    def __init__(self, url: str, timeout_s: float) -> None:
        self._url = url
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def certificate(self, station_id: str, request: Get15118EVCertificateRequest
                          ) -> Get15118EVCertificateResponse:
        payload = {"iso15118SchemaVersion": request.iso15118_schema_version,
                   "action": request.action.value, "exiRequest": request.exi_request,
                   "stationId": station_id}
        try:
            async with aiohttp.ClientSession(timeout=self._timeout) as http, http.post(
                    self._url, json=payload, allow_redirects=False) as resp:
                raw = await resp.content.read(64 * 1024)
                if resp.status != 200:
                    return _failed("ProviderError", f"provider answered HTTP {resp.status}")
            answer = msgspec.json.decode(raw, type=_ProviderAnswer)
        except (aiohttp.ClientError, TimeoutError, msgspec.ValidationError,
                msgspec.DecodeError) as exc:
            return _failed("ProviderError", f"{type(exc).__name__}")
        return Get15118EVCertificateResponse(status=answer.status,
                                             exi_response=answer.exi_response)
