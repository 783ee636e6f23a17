"""Expiry of the certificates we issued: an alert N days before, and a TriggerMessage asking the
station for a new CSR (SignChargingStationCertificate, or SignV2GCertificate for its SECC
certificate); retried daily until a newer one is accepted. Expiry of our own CAs (the
station-issuing chain, the V2G chain up to CPO sub-CA 2): an alert N days before, since a CA
past its end makes every CSR it would sign refused."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from sigec_actors.alerts.model import NewAlert, Severity
from sigec_actors.alerts.ports import Alerts
from sigec_actors.charge_point.errors import CommandError
from sigec_actors.domain.errors import UnknownStation
from sigec_actors.ocpp.generated.v201 import MessageTriggerEnum, TriggerMessageRequest
from sigec_actors.pki.stations import Send
from sigec_actors.pki.store import CertificateStore, IssuedCertificate
from sigec_actors.runtime import ActorDead, MailboxFull

log = structlog.get_logger("pki.renewal")
RETRY_AFTER = timedelta(days=1)
TRIGGERS = {"V2GCertificate": MessageTriggerEnum.SIGN_V2_GCERTIFICATE}
"""certificate_type -> the trigger asking for its CSR (others: SignChargingStationCertificate)"""
OwnChain = tuple[str, Sequence[x509.Certificate]]
"""(what it is, e.g. "V2G chain"; its certificates, the signing CA first, up to the root)"""


class Renewal:
    """One round (`run_once`) of the renewal job; a node runs it every `pki.renewal_check_s`."""

    def __init__(self, store: CertificateStore, send: Send, now: Callable[[], datetime], *,
                 renew_before_days: int, alerts: Alerts | None = None,
                 own_cas: Sequence[OwnChain] = ()) -> None:
        self._store = store
        self._send = send
        self._now = now
        self._before = timedelta(days=renew_before_days)
        self._alerts = alerts
        self._own_cas = own_cas
        self._ca_alerted: dict[str, datetime] = {}  # fingerprint -> when this node last opened

    async def run_once(self) -> list[str]:
        """Ask every station whose certificate ends within the window; the serials asked."""
        now = self._now()
        asked = []
        for cert in await self._store.expiring(now + self._before, now - RETRY_AFTER):
            if not await self._store.claim_renewal(cert.serial_number, now, now - RETRY_AFTER):
                continue  # another node took it this round
            await self._alert(cert)
            if await self._trigger(cert):
                asked.append(cert.serial_number)
        await self.check_own_cas(now)
        return asked

    async def check_own_cas(self, now: datetime) -> list[x509.Certificate]:
        """Open a `ca_expiring` alert for each of our CA certificates that ends within the
        window (critical once it has ended); the ones found. One alert per certificate while it
        is unresolved (dedupe key: its fingerprint, so a renewed CA is a new episode); a
        resolved one that still stands is opened again after a day, like station
        certificates."""
        found = []
        seen: set[str] = set()
        for what, chain in self._own_cas:
            for ca in chain:
                fingerprint = ca.fingerprint(hashes.SHA256()).hex()
                if fingerprint in seen or ca.not_valid_after_utc >= now + self._before:
                    continue
                seen.add(fingerprint)
                found.append(ca)
                last = self._ca_alerted.get(fingerprint)
                if last is not None and now - last < RETRY_AFTER:
                    continue
                await self._alert_ca(what, ca, fingerprint, now)
                self._ca_alerted[fingerprint] = now
        return found

    async def _alert_ca(self, what: str, ca: x509.Certificate, fingerprint: str,
                        now: datetime) -> None:
        ended = ca.not_valid_after_utc <= now
        subject = ca.subject.rfc4514_string()
        log.warning("pki_ca_expiring", ca=subject, chain=what, ended=ended,
                    valid_to=ca.not_valid_after_utc.isoformat())
        if self._alerts is None:
            return
        await self._alerts.open(NewAlert(
            severity=Severity.CRITICAL if ended else Severity.WARNING, kind="ca_expiring",
            message=f"our CA {subject} ({what}) {'expired' if ended else 'expires'} "
                    f"{ca.not_valid_after_utc.isoformat()}: certificates it signs stop "
                    "verifying and CSRs are refused after that; renew it (docs/pki.md)",
            details={"chain": what, "subject": subject, "fingerprint": fingerprint,
                     "validTo": ca.not_valid_after_utc.isoformat()},
            dedupe_key=f"ca_expiring:{fingerprint}"))

    async def _alert(self, cert: IssuedCertificate) -> None:
        if self._alerts is None:
            return
        try:
            await self._alerts.open(NewAlert(
                severity=Severity.WARNING, kind="certificate_expiring",
                message=f"{cert.certificate_type} {cert.serial_number} of {cert.charge_point_id} "
                        f"expires {cert.valid_to.isoformat()}; renewal requested",
                charge_point_id=cert.charge_point_id,
                details={"serialNumber": cert.serial_number,
                         "certificateType": cert.certificate_type,
                         "validTo": cert.valid_to.isoformat()},
                dedupe_key=f"certificate_expiring:{cert.serial_number}"))
        except UnknownStation:
            log.info("pki_renewal_station_gone", station=cert.charge_point_id)

    async def _trigger(self, cert: IssuedCertificate) -> bool:
        request = TriggerMessageRequest(requested_message=TRIGGERS.get(
            cert.certificate_type, MessageTriggerEnum.SIGN_CHARGING_STATION_CERTIFICATE))
        try:
            answer = await self._send(cert.charge_point_id, request)
        except (CommandError, ActorDead, MailboxFull) as exc:  # offline: asked again tomorrow
            log.info("pki_renewal_not_sent", station=cert.charge_point_id,
                     error=type(exc).__name__)
            return False
        log.info("pki_renewal_triggered", station=cert.charge_point_id,
                 serial=cert.serial_number, trigger=request.requested_message.value,
                 status=str(getattr(answer, "status", "")))
        return True
