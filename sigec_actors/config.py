"""Configuration: config/default.toml, an optional overlay file, then environment overrides."""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import msgspec

from sigec_actors.config_sections import (
    AuthConfig,
    BillingConfig,
    ClusterConfig,
    DatabaseConfig,
    DeviceModelConfig,
    FirmwareConfig,
    HhMm,
    LogConfig,
    NatsConfig,
    OcppConfig,
    OperatorConfig,
    PaymentsConfig,
    PkiConfig,
    Port,
    PositiveFloat,
    ServerConfig,
    Settings,
    UrlConfig,
    V2GConfig,
    VoiceConfig,
)
from sigec_actors.errors import ConfigError

DEFAULT_TOML = Path(__file__).resolve().parents[1] / "config" / "default.toml"

__all__ = [
    "DEFAULT_TOML",
    "PUBLIC_ENV",
    "AuthConfig",
    "BillingConfig",
    "ClusterConfig",
    "DatabaseConfig",
    "DeviceModelConfig",
    "FirmwareConfig",
    "HhMm",
    "LogConfig",
    "NatsConfig",
    "OcppConfig",
    "OperatorConfig",
    "PaymentsConfig",
    "PkiConfig",
    "Port",
    "PositiveFloat",
    "ServerConfig",
    "Settings",
    "UrlConfig",
    "V2GConfig",
    "VoiceConfig",
    "check_cluster_address",
    "is_loopback",
    "load_settings",
]

# Public environment names (part of the interface), each mapped to its TOML key.
PUBLIC_ENV: Mapping[str, str] = {
    "SIGEC_DATA_DIR": "server.data_dir",
    "SIGEC_HTTP_PORT": "server.http_port",
    "SIGEC_OCPP_PORT": "server.ocpp_port",
    "SIGEC_BIND": "server.bind",
    "SIGEC_WORKERS": "server.workers",
    "DATABASE_URL": "database.url",
    "NATS_URL": "nats.url",
    "REDIS_URL": "redis.url",
    "SIGEC_JWT_SECRET": "auth.jwt_secret",
    "SIGEC_ADMIN_EMAIL": "auth.admin_email",
    "SIGEC_ADMIN_PASSWORD": "auth.admin_password",
}

_URL_SCHEMES: Mapping[str, tuple[str, ...]] = {
    "database.url": ("postgresql", "postgres"),
    "nats.url": ("nats", "tls", "ws", "wss"),
    "redis.url": ("redis", "rediss", "unix"),
}
_GENERIC_ENV = re.compile(r"^SIGEC_([A-Z0-9_]+?)__([A-Z0-9_]+)$")


def load_settings(
    env: Mapping[str, str] | None = None,
    overlay: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build Settings from the defaults, an overlay file, the environment and explicit overrides.

    Raises ConfigError naming the offending key on any bad value.
    """
    env = os.environ if env is None else env
    raw = _read_toml(DEFAULT_TOML)
    overlay_path = overlay or (Path(env["SIGEC_CONFIG"]) if env.get("SIGEC_CONFIG") else None)
    if overlay_path is not None:
        _merge(raw, _read_toml(overlay_path), str(overlay_path))
    origins: dict[str, str] = {}
    for key, (value, name) in _env_overrides(env, raw).items():
        _set(raw, key, value)
        origins[key] = name
    for key, value in (overrides or {}).items():
        _set(raw, key, value)
        origins.pop(key, None)
    try:
        _resolve_workers(raw)
        settings = _convert(raw)
        _check_urls(settings)
        _check_payments(settings.payments)
        check_cluster_address("cluster.bind", settings.cluster.bind,
                              settings.cluster.allow_network)
    except ConfigError as exc:
        if exc.key in origins:
            raise ConfigError(f"{origins[exc.key]} ({exc.key})", exc.problem) from exc
        raise
    return settings


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"invalid TOML: {exc}") from exc


def _merge(base: dict[str, Any], extra: dict[str, Any], source: str) -> None:
    for section, values in extra.items():
        if section not in base or not isinstance(values, dict):
            raise ConfigError(section, f"unknown section in {source}")
        for key, value in values.items():
            if key not in base[section]:
                raise ConfigError(f"{section}.{key}", f"unknown key in {source}")
            if isinstance(base[section][key], dict) and isinstance(value, dict):
                base[section][key] = {**base[section][key], **value}  # a table: entry by entry
            else:
                base[section][key] = value


def _env_overrides(env: Mapping[str, str], raw: dict[str, Any]) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for name, value in env.items():
        match = _GENERIC_ENV.match(name)
        if match:
            section, key = match.group(1).lower(), match.group(2).lower()
            if section not in raw or key not in raw[section]:
                raise ConfigError(name, "unknown configuration key")
            found[f"{section}.{key}"] = (value, name)
    for name, key in PUBLIC_ENV.items():
        if name in env:
            found[key] = (env[name], name)
    return found


def _set(raw: dict[str, Any], dotted: str, value: Any) -> None:
    section, _, key = dotted.partition(".")
    if section not in raw or key not in raw[section]:
        raise ConfigError(dotted, "unknown configuration key")
    if isinstance(raw[section][key], dict) and isinstance(value, str):  # a table from the env
        value = {**raw[section][key], **_table_entries(dotted, value)}
    elif isinstance(raw[section][key], list) and isinstance(value, str):  # "A,B" from the env
        value = [part.strip() for part in value.split(",") if part.strip()]
    raw[section][key] = value


def _table_entries(dotted: str, text: str) -> dict[str, str]:
    """"KEY=VALUE,KEY=VALUE" (an environment value for a table): the entries it changes."""
    entries = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError(dotted, f'expected "KEY=VALUE,KEY=VALUE", got {item!r}')
        entries[name.strip()] = value.strip()
    return entries


def _convert(raw: dict[str, Any]) -> Settings:
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        # `$.a.b`, `$.a.b[...]` (a table's value) or "`key` in `$.a.b`" (a table's key)
        match = re.search(r"`\$\.([\w.]+)(?:\[\.\.\.\])?`", message)
        key = match.group(1) if match else "config"
        problem = message.split(" - at ", maxsplit=1)[0]
        raise ConfigError(key, problem) from exc


def _resolve_workers(raw: dict[str, Any]) -> None:
    """`server.workers = "auto"` means one node process per CPU core."""
    if str(raw["server"]["workers"]).strip().lower() == "auto":
        raw["server"]["workers"] = os.cpu_count() or 1


def _check_urls(settings: Settings) -> None:
    values = {
        "database.url": settings.database.url,
        "nats.url": settings.nats.url,
        "redis.url": settings.redis.url,
    }
    for key, url in values.items():
        if not url:
            continue
        try:
            parts = urlsplit(url)
            _ = parts.port  # raises ValueError on a bad port
        except ValueError as exc:
            raise ConfigError(key, f"malformed URL: {exc}") from exc
        if parts.scheme not in _URL_SCHEMES[key]:
            allowed = ", ".join(f"{s}://" for s in _URL_SCHEMES[key])
            raise ConfigError(key, f"malformed URL: scheme must be one of {allowed}")
        if parts.scheme != "unix" and not (parts.hostname or "host=" in parts.query):
            raise ConfigError(key, "malformed URL: no host")


def _check_payments(payments: PaymentsConfig) -> None:
    """A BR Code made here needs where it pays: a PIX key, or a dynamic location."""
    if payments.pix_provider == "brcode" and not (payments.pix_key.strip()
                                                   or payments.pix_location.strip()):
        raise ConfigError("payments.pix_key", 'required with payments.pix_provider = "brcode" '
                                              "(or set payments.pix_location)")


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 or `localhost`; a name or any other address may reach the network."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_cluster_address(key: str, host: str, allow_network: bool) -> None:
    """thespian on a non-loopback address (bind or --join) only with cluster.allow_network."""
    if allow_network or is_loopback(host):
        return
    raise ConfigError(key, f"{host or '(empty)'} is not a loopback address and thespian's ports "
                           "take unauthenticated pickled messages; on a private network only, "
                           "set cluster.allow_network = true (SIGEC_CLUSTER__ALLOW_NETWORK)")
