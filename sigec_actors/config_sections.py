"""The configuration's typed sections (one msgspec struct per TOML table) and `Settings`.

Loading, precedence and environment overrides live in sigec_actors.config, which re-exports
these names."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import msgspec

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]
PositiveFloat = Annotated[float, msgspec.Meta(gt=0)]


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    pass


class ServerConfig(_Section, frozen=True, forbid_unknown_fields=True):
    data_dir: str
    bind: str
    http_port: Port
    ocpp_port: Port
    ocpp_tls_port: Port
    workers: Annotated[int, msgspec.Meta(ge=0, le=256)]
    shutdown_timeout_s: PositiveFloat
    public_host: str
    http_header_timeout_s: PositiveFloat
    http_max_connections: Annotated[int, msgspec.Meta(ge=0)]
    http_max_connections_per_ip: Annotated[int, msgspec.Meta(ge=0)]
    ocpp_max_connections_per_ip: Annotated[int, msgspec.Meta(ge=0)]
    graphql_enabled: bool = True
    graphql_port: Port = 8081
    graphql_max_depth: Annotated[int, msgspec.Meta(ge=2, le=64)] = 10
    graphql_max_cost: Annotated[int, msgspec.Meta(ge=10)] = 5000
    grpc_enabled: bool = True
    grpc_port: Port = 50051


class LogConfig(_Section, frozen=True, forbid_unknown_fields=True):
    format: Literal["auto", "json", "console"]
    level: Literal["debug", "info", "warning", "error"]
    actor_recent_messages: Annotated[int, msgspec.Meta(ge=0, le=1000)]


class DatabaseConfig(_Section, frozen=True, forbid_unknown_fields=True):
    url: str
    pool_min: Annotated[int, msgspec.Meta(ge=0)]
    pool_max: Annotated[int, msgspec.Meta(ge=1)]
    command_timeout_s: PositiveFloat


class UrlConfig(_Section, frozen=True, forbid_unknown_fields=True):
    url: str


class NatsConfig(_Section, frozen=True, forbid_unknown_fields=True):
    url: str
    creds_file: str
    nkey_seed_file: str
    outbox_retention_s: PositiveFloat
    outbox_prune_interval_s: Annotated[float, msgspec.Meta(ge=0)]
    outbox_max_age_s: PositiveFloat


class AuthConfig(_Section, frozen=True, forbid_unknown_fields=True):
    jwt_secret: str
    admin_email: str
    admin_password: str
    access_ttl_s: Annotated[int, msgspec.Meta(ge=1, le=900)]
    refresh_ttl_s: Annotated[int, msgspec.Meta(ge=60)]
    hash_concurrency: Annotated[int, msgspec.Meta(ge=0)]
    register_hash_slots: Annotated[int, msgspec.Meta(ge=1)]
    register_queue: Annotated[int, msgspec.Meta(ge=0)]
    register_per_ip: Annotated[int, msgspec.Meta(ge=1)]
    register_window_s: Annotated[int, msgspec.Meta(ge=1)]
    min_password_score: Annotated[int, msgspec.Meta(ge=0, le=4)]
    login_failures_per_source: Annotated[int, msgspec.Meta(ge=1)]
    login_failures_per_account: Annotated[int, msgspec.Meta(ge=1)]
    login_failure_window_s: Annotated[int, msgspec.Meta(ge=1)]


class OcppConfig(_Section, frozen=True, forbid_unknown_fields=True):
    call_timeout_s: PositiveFloat
    auto_register: bool
    max_frame_bytes: Annotated[int, msgspec.Meta(ge=1024)]
    ping_interval_s: PositiveFloat
    ping_timeout_s: PositiveFloat
    command_queue_size: Annotated[int, msgspec.Meta(ge=0)]
    compression: bool
    heartbeat_interval_s: Annotated[int, msgspec.Meta(ge=1)]
    station_calls_per_s: Annotated[float, msgspec.Meta(ge=0)]
    station_call_burst: Annotated[int, msgspec.Meta(ge=1)]
    tls_cert: str
    tls_key: str
    tls_client_ca: str
    meter_values_retention_days: Annotated[int, msgspec.Meta(ge=0)]


class BillingConfig(_Section, frozen=True, forbid_unknown_fields=True):
    default_price_per_kwh_centavos: Annotated[int, msgspec.Meta(ge=0)]
    default_session_fee_centavos: Annotated[int, msgspec.Meta(ge=0)]
    default_per_minute_centavos: Annotated[int, msgspec.Meta(ge=0)]
    default_idle_per_minute_centavos: Annotated[int, msgspec.Meta(ge=0)]
    min_balance_centavos: Annotated[int, msgspec.Meta(ge=0)]
    auth_cache_ttl_s: PositiveFloat
    station_auth_cache_s: Annotated[int, msgspec.Meta(ge=0)]
    tx_timeout_s: PositiveFloat
    settle_interval_s: PositiveFloat
    send_cost_updated: bool
    cost_updated_interval_s: PositiveFloat
    reconcile_interval_s: PositiveFloat
    reconcile_grace_s: PositiveFloat
    reconcile_retry_s: PositiveFloat
    tx_max_seq_jump: Annotated[int, msgspec.Meta(ge=1)]
    meter_max_register_wh: Annotated[int, msgspec.Meta(ge=1, le=10**15)]
    meter_max_power_w: Annotated[int, msgspec.Meta(ge=1)]
    max_live_reservations_per_user: Annotated[int, msgspec.Meta(ge=1)]


class ClusterConfig(_Section, frozen=True, forbid_unknown_fields=True):
    admin_port: Annotated[int, msgspec.Meta(ge=1, le=65535)]
    bind: str
    allow_network: bool
    max_restarts: Annotated[int, msgspec.Meta(ge=0)]
    within_s: PositiveFloat


HhMm = Annotated[str, msgspec.Meta(pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")]


class V2GConfig(_Section, frozen=True, forbid_unknown_fields=True):
    default_submarket: Literal["SE", "S", "NE", "N"]
    price_source: Literal["fixture", "csv", "ccee"]
    price_csv_path: str
    ccee_base_url: str
    ccee_dataset: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_-]{1,100}$")]
    ccee_timeout_s: PositiveFloat
    price_refresh_interval_s: PositiveFloat
    retail_policy_version: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    retail_alpha_ppm: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
    retail_beta_centavos_per_mwh: Annotated[int, msgspec.Meta(ge=0, le=100_000_000)]
    margin_bp: Annotated[int, msgspec.Meta(ge=0, le=10_000)]
    peak_start: HhMm
    peak_end: HhMm
    peak_timezone: str
    holidays_subdivision: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{0,2}$")]
    offline_grace_s: PositiveFloat
    session_check_interval_s: PositiveFloat
    start_timeout_s: PositiveFloat
    sweep_interval_s: PositiveFloat
    repricing_interval_s: PositiveFloat
    plan_check_interval_s: PositiveFloat
    state_submarkets: dict[Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}$")],
                           Literal["SE", "S", "NE", "N"]]


class DeviceModelConfig(_Section, frozen=True, forbid_unknown_fields=True):
    full_inventory_on_first_boot: bool
    log_upload_max_bytes: Annotated[int, msgspec.Meta(ge=1024, le=2**31)]
    log_upload_ttl_s: Annotated[int, msgspec.Meta(ge=60)]
    upload_base_url: str
    event_alert_max_severity: Annotated[int, msgspec.Meta(ge=-1, le=9)]
    event_alert_components: Annotated[str, msgspec.Meta(max_length=2000)]


class PaymentsConfig(_Section, frozen=True, forbid_unknown_fields=True):
    provider: Literal["fake", "stripe"]
    pix_provider: Literal["provider", "brcode"]
    pix_key: str
    pix_location: str
    merchant_name: Annotated[str, msgspec.Meta(min_length=1, max_length=25)]
    merchant_city: Annotated[str, msgspec.Meta(min_length=1, max_length=15)]
    stripe_api_key: str
    stripe_api_base: str
    webhook_secret: str
    webhook_tolerance_s: Annotated[int, msgspec.Meta(ge=1, le=3600)]
    request_timeout_s: PositiveFloat
    min_amount_centavos: Annotated[int, msgspec.Meta(ge=1)]
    max_amount_centavos: Annotated[int, msgspec.Meta(ge=1, le=10**12)]
    pix_expires_after_s: Annotated[int, msgspec.Meta(ge=10, le=1_209_600)]
    boleto_expires_after_days: Annotated[int, msgspec.Meta(ge=1, le=60)]
    brcode_expiry_s: Annotated[int, msgspec.Meta(ge=60, le=2_592_000)]
    brcode_expire_check_s: PositiveFloat
    reconcile_interval_s: PositiveFloat
    reconcile_window_s: PositiveFloat
    reconcile_stale_after_s: PositiveFloat
    idempotency_ttl_s: Annotated[int, msgspec.Meta(ge=86_400)]
    idempotency_lock_timeout_s: PositiveFloat


class VoiceConfig(_Section, frozen=True, forbid_unknown_fields=True):
    enabled: bool
    recognizer: Literal["rules", "gemini"]
    gemini_model: str
    gemini_api_key: str
    gemini_timeout_s: PositiveFloat
    confirm_ttl_s: PositiveFloat
    max_audio_bytes: Annotated[int, msgspec.Meta(ge=1024, le=50_000_000)]


class PkiConfig(_Section, frozen=True, forbid_unknown_fields=True):
    enabled: bool
    ca_dir: str
    ca_cert: str
    ca_key: str
    organisation: str
    csr_key_types: list[Literal["EC", "RSA"]]
    csr_min_rsa_bits: Annotated[int, msgspec.Meta(ge=2048, le=16384)]
    csr_min_ec_bits: Annotated[int, msgspec.Meta(ge=224, le=521)]
    station_cert_days: Annotated[int, msgspec.Meta(ge=1, le=3650)]
    renew_before_days: Annotated[int, msgspec.Meta(ge=1, le=365)]
    renewal_check_s: PositiveFloat
    trust_own_ca_for_tls: bool
    ocsp_responders: list[str]
    ocsp_required: bool
    ocsp_timeout_s: PositiveFloat
    contract_provider: Literal["offline", "http"]
    contract_provider_url: str
    contract_emaid_prefix: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}[0-9A-Z]{3}$")]
    exi_codec_jar: str
    exi_java: str
    exi_timeout_s: PositiveFloat
    ev_certificate_time_limit_s: PositiveFloat
    exi_prestart: bool
    v2g_ca_dir: str
    v2g_ca_cert: str
    v2g_ca_key: str
    v2g_cert_days: Annotated[int, msgspec.Meta(ge=1, le=365)]
    v2g_csr_cn: Literal["station", "any"]
    crl_urls: list[str]
    crl_files: list[str]
    crl_timeout_s: PositiveFloat


class OperatorConfig(_Section, frozen=True, forbid_unknown_fields=True):
    """The operator surface (issue 20): dashboard and alert rules."""

    timezone: str
    node_report_s: PositiveFloat
    rules_interval_s: PositiveFloat
    offline_heartbeats: Annotated[int, msgspec.Meta(ge=1)]
    node_restarts: Annotated[int, msgspec.Meta(ge=1)]
    node_restart_window_s: PositiveFloat


class FirmwareConfig(_Section, frozen=True, forbid_unknown_fields=True):
    """Firmware jobs and campaigns (issue 17): timers, leases and phase timeouts."""

    tick_s: PositiveFloat
    lease_s: PositiveFloat
    claim_interval_s: PositiveFloat
    campaign_tick_s: PositiveFloat
    request_timeout_s: PositiveFloat
    resend_s: PositiveFloat
    download_timeout_s: PositiveFloat
    install_timeout_s: PositiveFloat
    boot_timeout_s: PositiveFloat
    max_backoff_s: PositiveFloat


class Settings(_Section, frozen=True, forbid_unknown_fields=True):
    """The whole validated configuration; every field comes from config/default.toml."""

    server: ServerConfig
    log: LogConfig
    database: DatabaseConfig
    nats: NatsConfig
    redis: UrlConfig
    auth: AuthConfig
    ocpp: OcppConfig
    billing: BillingConfig
    cluster: ClusterConfig
    v2g: V2GConfig
    payments: PaymentsConfig
    firmware: FirmwareConfig
    device_model: DeviceModelConfig
    voice: VoiceConfig
    pki: PkiConfig
    operator: OperatorConfig

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir).resolve()
