"""Configuration: defaults, public env names, generic overrides, overlays and clear errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sigec_actors.config import DEFAULT_TOML, PUBLIC_ENV, Settings, load_settings
from sigec_actors.errors import ConfigError


def test_defaults_are_safe() -> None:
    s = load_settings({})
    assert s.server.http_port == 8080
    assert s.server.ocpp_port == 9000
    assert s.server.bind == "127.0.0.1"
    assert s.server.data_dir == "./.sigec"
    assert s.database.url == "" and s.nats.url == "" and s.redis.url == ""
    assert s.ocpp.auto_register is False
    assert s.ocpp.compression is False
    assert s.auth.access_ttl_s <= 900
    assert s.server.workers == (os.cpu_count() or 1)  # "auto"


@pytest.mark.parametrize(
    ("name", "value", "attr", "expected"),
    [
        ("SIGEC_DATA_DIR", "/tmp/x", ("server", "data_dir"), "/tmp/x"),
        ("SIGEC_HTTP_PORT", "18080", ("server", "http_port"), 18080),
        ("SIGEC_OCPP_PORT", "19000", ("server", "ocpp_port"), 19000),
        ("SIGEC_BIND", "0.0.0.0", ("server", "bind"), "0.0.0.0"),
        ("SIGEC_WORKERS", "2", ("server", "workers"), 2),
        ("DATABASE_URL", "postgresql://u@db:5432/x", ("database", "url"), "postgresql://u@db:5432/x"),
        ("NATS_URL", "nats://127.0.0.1:4222", ("nats", "url"), "nats://127.0.0.1:4222"),
        ("REDIS_URL", "redis://127.0.0.1:6379/0", ("redis", "url"), "redis://127.0.0.1:6379/0"),
        ("SIGEC_JWT_SECRET", "s3cret", ("auth", "jwt_secret"), "s3cret"),
        ("SIGEC_ADMIN_EMAIL", "ops@example.com", ("auth", "admin_email"), "ops@example.com"),
        ("SIGEC_ADMIN_PASSWORD", "pw-123456789", ("auth", "admin_password"), "pw-123456789"),
    ],
)
def test_public_env_names(name: str, value: str, attr: tuple[str, str], expected: object) -> None:
    s = load_settings({name: value})
    assert getattr(getattr(s, attr[0]), attr[1]) == expected


def test_every_public_name_is_tested_and_maps_to_a_real_key() -> None:
    s = load_settings({})
    for key in PUBLIC_ENV.values():
        section, field = key.split(".")
        assert hasattr(getattr(s, section), field)


def test_generic_section_key_override() -> None:
    s = load_settings({"SIGEC_OCPP__CALL_TIMEOUT_S": "5", "SIGEC_OCPP__AUTO_REGISTER": "true"})
    assert s.ocpp.call_timeout_s == 5.0
    assert s.ocpp.auto_register is True


def test_a_list_from_the_env_is_comma_separated() -> None:
    settings = load_settings({"SIGEC_PKI__CSR_KEY_TYPES": "EC",
                              "SIGEC_PKI__OCSP_RESPONDERS": "http://a.example/ocsp, http://b"})
    assert settings.pki.csr_key_types == ["EC"]
    assert settings.pki.ocsp_responders == ["http://a.example/ocsp", "http://b"]
    assert load_settings({"SIGEC_PKI__OCSP_RESPONDERS": ""}).pki.ocsp_responders == []


def test_every_toml_key_is_overridable_by_generic_env() -> None:
    import tomllib

    raw = tomllib.loads(DEFAULT_TOML.read_text())
    for section, values in raw.items():
        for key, value in values.items():
            text = (",".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict)
                    else ",".join(map(str, value)) if isinstance(value, list)
                    else str(value).lower() if isinstance(value, bool) else str(value))
            env = {f"SIGEC_{section.upper()}__{key.upper()}": text}
            load_settings(env)  # must not raise


@pytest.mark.parametrize(
    ("env", "key_fragment"),
    [
        ({"SIGEC_HTTP_PORT": "70000"}, "SIGEC_HTTP_PORT"),
        ({"SIGEC_OCPP_PORT": "-1"}, "SIGEC_OCPP_PORT"),
        ({"SIGEC_WORKERS": "many"}, "SIGEC_WORKERS"),
        ({"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
        ({"NATS_URL": "nats://host:notaport"}, "NATS_URL"),
        ({"REDIS_URL": "http://r"}, "REDIS_URL"),
        ({"SIGEC_OCPP__NO_SUCH_KEY": "1"}, "SIGEC_OCPP__NO_SUCH_KEY"),
        ({"SIGEC_LOG__LEVEL": "loud"}, "log.level"),
        ({"SIGEC_AUTH__ACCESS_TTL_S": "3600"}, "auth.access_ttl_s"),
    ],
)
def test_bad_values_name_the_key(env: dict[str, str], key_fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    message = str(info.value)
    assert key_fragment in message
    assert "\n" not in message


def test_overlay_merges_and_rejects_unknown_keys(tmp_path: Path) -> None:
    good = tmp_path / "good.toml"
    good.write_text("[ocpp]\ncall_timeout_s = 7.5\n")
    assert load_settings({}, overlay=good).ocpp.call_timeout_s == 7.5
    bad = tmp_path / "bad.toml"
    bad.write_text("[ocpp]\ncall_timeout = 7.5\n")
    with pytest.raises(ConfigError, match=r"ocpp\.call_timeout: unknown key"):
        load_settings({}, overlay=bad)
    broken = tmp_path / "broken.toml"
    broken.write_text("[ocpp\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_settings({}, overlay=broken)


def test_env_beats_overlay_and_flags_beat_env(tmp_path: Path) -> None:
    overlay = tmp_path / "o.toml"
    overlay.write_text("[server]\nhttp_port = 1111\n")
    env = {"SIGEC_CONFIG": str(overlay)}
    assert load_settings(env).server.http_port == 1111
    env["SIGEC_HTTP_PORT"] = "2222"
    assert load_settings(env).server.http_port == 2222
    assert load_settings(env, overrides={"server.http_port": 3333}).server.http_port == 3333


def test_settings_is_frozen() -> None:
    s: Settings = load_settings({})
    with pytest.raises(AttributeError):
        s.server = s.server  # type: ignore[misc]
