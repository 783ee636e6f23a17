"""Builds the node's PKI: our CA, the station handlers (SignCertificate, GetCertificateStatus,
Get15118EVCertificate, Authorize with a certificate), the renewal job and the REST port."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import structlog
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from sigec_actors.adapters.pg import DB_FAILURES
from sigec_actors.adapters.pg_certificates import PgCertificates
from sigec_actors.alerts.ports import Alerts
from sigec_actors.charge_point.handlers import StationHandlers
from sigec_actors.charge_point.ports import Authorizer
from sigec_actors.config import PkiConfig, Settings
from sigec_actors.errors import ConfigError
from sigec_actors.jobs import Jobs, every
from sigec_actors.ocpp.generated import v201 as m
from sigec_actors.pki.ca import FileCa, ensure_ca, load_ca, pem
from sigec_actors.pki.crl import AiohttpCrlTransport, CrlChecker, CrlTransport
from sigec_actors.pki.csr import CsrPolicy
from sigec_actors.pki.exi.codec import ExiCodec, ExiError, JarExiCodec
from sigec_actors.pki.exi.cps import Provisioning
from sigec_actors.pki.ocsp import AiohttpOcspTransport, OcspClient, OcspTransport
from sigec_actors.pki.plug_charge import PlugAndCharge
from sigec_actors.pki.provider import (
    ContractProvider,
    HttpContractProvider,
    OfflineContractProvider,
)
from sigec_actors.pki.renewal import OwnChain, Renewal
from sigec_actors.pki.stations import OcspProxy, Send, StationCertificates
from sigec_actors.pki.store import CertificateStore, RootType, TrustedRoot
from sigec_actors.pki.v2g import V2gPolicy, V2gSigner, ensure_v2g_ca, load_v2g_ca
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


def v2g_ca(config: PkiConfig, data_dir: Path) -> FileCa:
    """The V2G sub-CA (CPO sub-CA 2 up to the V2G root): configured files, or ours (made once)."""
    if config.v2g_ca_cert or config.v2g_ca_key:
        return load_v2g_ca(Path(config.v2g_ca_cert), Path(config.v2g_ca_key))
    directory = Path(config.v2g_ca_dir) if config.v2g_ca_dir else data_dir / "pki" / "v2g"
    return ensure_v2g_ca(directory, config.organisation or "SIGEC-VE")


def v2g_signer(config: PkiConfig, data_dir: Path) -> V2gSigner:
    return V2gSigner(v2g_ca(config, data_dir), V2gPolicy(
        organisation=config.organisation, common_name=config.v2g_csr_cn,
        valid_days=config.v2g_cert_days))


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
    for key, urls in (("pki.ocsp_responders", config.ocsp_responders),
                      ("pki.crl_urls", config.crl_urls)):
        for url in urls:
            if not url.startswith(("http://", "https://")):
                raise ConfigError(key, f"{url[:80]!r} is not an http(s) URL")
    for path in config.crl_files:
        if not Path(path).is_file():
            raise ConfigError("pki.crl_files", f"{path} is not a readable file")
    for prefix in ("pki.ca", "pki.v2g_ca"):
        attr = prefix.removeprefix("pki.")
        if (getattr(config, f"{attr}_cert") == "") != (getattr(config, f"{attr}_key") == ""):
            raise ConfigError(f"{prefix}_cert", f"{prefix}_cert and {prefix}_key go together")
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
                 crl_transport: CrlTransport | None = None,
                 now: Callable[[], datetime] = utcnow) -> None:
        config = settings.pki
        check_config(config)
        data = settings.data_dir
        self.config = config
        self.store = store
        self.ca = station_ca(config, data)
        self.v2g = v2g_signer(config, data)
        self.ocsp = OcspClient(config.ocsp_responders, ocsp_transport or AiohttpOcspTransport(),
                               now, timeout_s=config.ocsp_timeout_s)
        self.crl = CrlChecker(config.crl_urls, config.crl_files,
                              crl_transport or AiohttpCrlTransport(), now,
                              timeout_s=config.crl_timeout_s)
        extra: list[x509.Certificate] = []
        own_cas: list[OwnChain] = [("station-issuing chain", self.ca.chain),
                                   ("V2G chain", self.v2g.ca.chain)]
        self.provider: ContractProvider
        self.exi: ExiCodec | None = None
        if config.contract_provider == "http":
            self.provider = HttpContractProvider(  # same bound as OCSP: inside the deadline
                config.contract_provider_url, config.ocsp_timeout_s)
        else:
            mo = test_contract_ca(data)
            password = kept_secret(data / "pki" / "contract-keys.secret",
                                   "pki.contract_provider", lambda: secrets.token_urlsafe(32))
            self.exi = JarExiCodec(Path(config.exi_codec_jar) if config.exi_codec_jar else None,
                                   java=config.exi_java, timeout_s=config.exi_timeout_s)
            self.provider = OfflineContractProvider(
                mo, store, now, emaid_prefix=config.contract_emaid_prefix,
                key_password=password.encode(), codec=self.exi,
                cps=Provisioning.in_data_dir(data))
            extra.append(mo.root)
            own_cas += [("test MO chain", mo.chain), ("test CPS chain", self.provider.cps.ca.chain)]
        self.plug_charge = PlugAndCharge(store, self.ocsp, tokens, now,
                                         ocsp_required=config.ocsp_required, extra_roots=extra,
                                         crl=self.crl)
        self._jobs = Jobs()

        def deliver(station_id: str, request: msgspec.Struct) -> Awaitable[msgspec.Struct]:
            return send()(station_id, request)  # the node's router is built after us

        self.stations = StationCertificates(self.ca, csr_policy(config), store, deliver, now,
                                            self._spawn, v2g=self.v2g)
        self.renewal = Renewal(store, deliver, now,
                               renew_before_days=config.renew_before_days, alerts=alerts,
                               own_cas=own_cas)
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
        handlers.handle(m.Get15118EVCertificateRequest, self.provider.certificate,
                        time_limit_s=self.config.ev_certificate_time_limit_s)
        handlers.handle(m.AuthorizeRequest, self.plug_charge.authorize)

    async def publish_roots(self) -> TrustedRoot:
        """Our V2G root as a trusted V2G root (the same row again if it is there already)."""
        root = self.v2g.ca.root
        return await self.store.add_root(TrustedRoot(
            fingerprint=root.fingerprint(hashes.SHA256()).hex(), root_type=RootType.V2G,
            subject=root.subject.rfc4514_string(), certificate_pem=pem(root),
            valid_to=root.not_valid_after_utc))

    def start(self) -> None:
        self._jobs.spawn("pki-renewal", every(self.config.renewal_check_s,
                                              self.renewal.run_once, job="pki-renewal"))
        self._jobs.spawn("pki-v2g-root", self._publish_once())
        if self.exi is not None and self.config.exi_prestart:
            self._jobs.spawn("pki-exi-prestart", self._prestart(self.exi))

    @staticmethod
    async def _prestart(codec: ExiCodec) -> None:
        """Start the codec now rather than on the first EV's request (a failure is logged by
        the codec, once, and the first request tries again)."""
        with contextlib.suppress(ExiError):
            await codec.warm()

    async def _publish_once(self) -> None:
        """`publish_roots` once per start (tried again while the database is away): a root an
        admin deleted comes back at the next start, not within the hour."""
        while True:
            try:
                await self.publish_roots()
            except DB_FAILURES as exc:
                log.warning("pki_v2g_root_not_published", error=f"{type(exc).__name__}: {exc}")
                await asyncio.sleep(min(self.config.renewal_check_s, 30.0))
            else:
                return

    async def stop(self) -> None:
        await self._jobs.stop()
        for task in list(self._deliveries):
            task.cancel()
        await asyncio.gather(*self._deliveries, return_exceptions=True)
        if self.exi is not None:
            await self.exi.close()
