"""Builds the node's PKI: our CA, the station handlers (SignCertificate, GetCertificateStatus,
Get15118EVCertificate, Authorize with a certificate), the renewal job and the REST port."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import structlog
from cryptography import x509

from sigec_actors.adapters.pg_certificates import PgCertificates
from sigec_actors.alerts.ports import Alerts
from sigec_actors.charge_point.handlers import StationHandlers
from sigec_actors.charge_point.ports import Authorizer
from sigec_actors.config import PkiConfig, Settings
from sigec_actors.errors import ConfigError
from sigec_actors.jobs import Jobs, every
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.pki.ca import FileCa, ensure_ca, load_ca, pem
from sigec_actors.pki.csr import CsrPolicy
from sigec_actors.pki.ocsp import AiohttpOcspTransport, OcspClient, OcspTransport
from sigec_actors.pki.plug_charge import PlugAndCharge
from sigec_actors.pki.provider import (
    ContractProvider,
    HttpContractProvider,
    OfflineContractProvider,
)
from sigec_actors.pki.renewal import Renewal
from sigec_actors.pki.stations import OcspProxy, Send, StationCertificates
from sigec_actors.pki.store import CertificateStore
from sigec_actors.ports import DbPool
from sigec_actors.private_files import kept_secret, write_private

EXTRAS_KEY = "pki"
log = structlog.get_logger("pki")


def utcnow() -> datetime:
    return datetime.now(UTC)


def station_ca(config: PkiConfig, data_dir: Path) -> FileCa:
    """The station-issuing CA: the configured files, or ours in the data dir (made once)."""
    if config.ca_cert or config.ca_key:
        return load_ca(Path(config.ca_cert), Path(config.ca_key))
    directory = Path(config.ca_dir) if config.ca_dir else data_dir / "pki" / "csms"
    return ensure_ca(directory, "SIGEC-VE CSMS Root CA", "SIGEC-VE Station CA",
                     config.organisation or "SIGEC-VE")


def test_contract_ca(data_dir: Path) -> FileCa:
    """The offline provider's MO root and sub-CA (development and tests only)."""
    return ensure_ca(data_dir / "pki" / "test-mo", "SIGEC-VE Test MO Root",
                     "SIGEC-VE Test MO Sub-CA", "SIGEC-VE Test eMSP")


def check_config(config: PkiConfig) -> None:
    """ConfigError for settings that cannot work (checked when the node builds its PKI)."""
    if config.contract_provider == "http" and not config.contract_provider_url.startswith(
            ("http://", "https://")):
        raise ConfigError("pki.contract_provider_url",
                          'an http(s) URL is required with pki.contract_provider = "http"')
    for url in config.ocsp_responders:
        if not url.startswith(("http://", "https://")):
            raise ConfigError("pki.ocsp_responders", f"{url[:80]!r} is not an http(s) URL")
    if (config.ca_cert == "") != (config.ca_key == ""):
        raise ConfigError("pki.ca_cert", "pki.ca_cert and pki.ca_key go together")
    if config.station_cert_days <= config.renew_before_days:  # allowed: tests renew at once
        log.warning("pki_renewal_at_once", station_cert_days=config.station_cert_days,
                    renew_before_days=config.renew_before_days,
                    detail="every station certificate is renewed as soon as it is issued")


def csr_policy(config: PkiConfig) -> CsrPolicy:
    return CsrPolicy(organisation=config.organisation, key_types=tuple(config.csr_key_types),
                     min_rsa_bits=config.csr_min_rsa_bits, min_ec_bits=config.csr_min_ec_bits,
                     valid_days=config.station_cert_days)


def with_client_ca(settings: Settings, pki: PkiWiring | None) -> Settings:
    """`settings` whose wss:// listener also trusts our CA for client certificates (profile 3):
    a bundle of the configured `ocpp.tls_client_ca` and our chain, kept in the data dir."""
    if pki is None or not settings.pki.trust_own_ca_for_tls:
        return settings
    ca = pki.ca
    configured = settings.ocpp.tls_client_ca
    try:
        text = Path(configured).read_text() if configured else ""
    except OSError as exc:
        raise ConfigError("ocpp.tls_client_ca", f"cannot read {configured}: {exc}") from exc
    bundle = settings.data_dir / "pki" / "client-ca.pem"
    write_private(bundle, text + pem(*ca.chain))
    return msgspec.structs.replace(settings, ocpp=msgspec.structs.replace(
        settings.ocpp, tls_client_ca=str(bundle)))


class PkiWiring:
    """One node's PKI services; `register` plugs the station handlers into the registry."""

    def __init__(self, settings: Settings, store: CertificateStore, tokens: Authorizer,
                 send: Callable[[], Send], *, alerts: Alerts | None = None,
                 ocsp_transport: OcspTransport | None = None,
                 now: Callable[[], datetime] = utcnow) -> None:
        config = settings.pki
        check_config(config)
        data = settings.data_dir
        self.config = config
        self.store = store
        self.ca = station_ca(config, data)
        self.ocsp = OcspClient(config.ocsp_responders, ocsp_transport or AiohttpOcspTransport(),
                               now, timeout_s=config.ocsp_timeout_s)
        extra: list[x509.Certificate] = []
        self.provider: ContractProvider
        if config.contract_provider == "http":
            self.provider = HttpContractProvider(  # same bound as OCSP: inside the deadline
                config.contract_provider_url, config.ocsp_timeout_s)
        else:
            mo = test_contract_ca(data)
            password = kept_secret(data / "pki" / "contract-keys.secret",
                                   "pki.contract_provider", lambda: secrets.token_urlsafe(32))
            self.provider = OfflineContractProvider(
                mo, store, now, emaid_prefix=config.contract_emaid_prefix,
                key_password=password.encode())
            extra.append(mo.root)
        self.plug_charge = PlugAndCharge(store, self.ocsp, tokens, now,
                                         ocsp_required=config.ocsp_required, extra_roots=extra)
        self._jobs = Jobs()

        def deliver(station_id: str, request: msgspec.Struct) -> Awaitable[msgspec.Struct]:
            return send()(station_id, request)  # the node's router is built after us

        self.stations = StationCertificates(self.ca, csr_policy(config), store, deliver, now,
                                            self._spawn)
        self.renewal = Renewal(store, deliver, now,
                               renew_before_days=config.renew_before_days, alerts=alerts)
        self._deliveries: set[asyncio.Future[None]] = set()

    @classmethod
    def for_node(cls, settings: Settings, pool: DbPool, tokens: Authorizer,
                 send: Callable[[], Send], alerts: Alerts | None,
                 handlers: StationHandlers) -> PkiWiring | None:
        """The node's PKI on PostgreSQL with its station handlers registered; None when
        `pki.enabled` is false (the certificate messages stay NotSupported)."""
        if not settings.pki.enabled:
            return None
        wiring = cls(settings, PgCertificates(pool), tokens, send, alerts=alerts)
        wiring.register(handlers)
        return wiring

    def _spawn(self, work: Awaitable[None]) -> object:
        """Run a CertificateSigned delivery; kept until done, cancelled by `stop`."""
        task = asyncio.ensure_future(work)
        self._deliveries.add(task)
        task.add_done_callback(self._deliveries.discard)
        return task

    def register(self, handlers: StationHandlers) -> None:
        handlers.handle(m.SignCertificateRequest, self.stations.sign_certificate)
        handlers.handle(m.GetCertificateStatusRequest, OcspProxy(self.ocsp).certificate_status)
        handlers.handle(m.Get15118EVCertificateRequest, self.provider.certificate)
        handlers.handle(m.AuthorizeRequest, self.plug_charge.authorize)

    def start(self) -> None:
        self._jobs.spawn("pki-renewal", every(self.config.renewal_check_s,
                                              self.renewal.run_once, job="pki-renewal"))

    async def stop(self) -> None:
        await self._jobs.stop()
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
