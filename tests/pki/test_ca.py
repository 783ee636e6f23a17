"""Our CA on disk: made once (also when nodes race), keys 0600, bring-your-own files, and the
client-CA bundle the wss:// listener trusts for profile 3."""

from __future__ import annotations

import os
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cryptography import x509

from sigec_actors.config import Settings, load_settings
from sigec_actors.errors import ConfigError
from sigec_actors.pki.ca import ensure_ca, load_ca, pem
from sigec_actors.pki.wiring import PkiWiring, station_ca, with_client_ca
from sigec_actors.testing.pki import InMemoryCertificates, TokenTable, in_memory_pki
from tests.helpers.pki import make_pki


def test_racing_nodes_make_one_ca(tmp_path: Path) -> None:
    directory = tmp_path / "pki" / "csms"
    with ThreadPoolExecutor(4) as pool:
        cas = list(pool.map(lambda _: ensure_ca(directory, "Root", "Issuing", "Org"), range(4)))
    assert len({ca.issuer.serial_number for ca in cas}) == 1
    assert sorted(p.name for p in directory.iterdir()) == [
        "issuing.crt", "issuing.key", "root.crt", "root.key"]
    assert not [p for p in directory.parent.iterdir() if p.name.startswith(".")]  # no scratch
    for key in ("root.key", "issuing.key"):
        assert stat.S_IMODE((directory / key).stat().st_mode) == 0o600
    cas[0].issuer.verify_directly_issued_by(cas[0].root)


def test_bring_your_own_ca(tmp_path: Path) -> None:
    own = ensure_ca(tmp_path / "theirs", "Their Root", "Their Issuing CA", "Them")
    cert = tmp_path / "ca.pem"
    cert.write_text(pem(own.issuer, own.root))
    key = tmp_path / "ca.key"
    key.write_bytes((tmp_path / "theirs" / "issuing.key").read_bytes())
    os.chmod(key, 0o644)
    settings = load_settings({}, overrides={"server.data_dir": str(tmp_path / "data"),
                                            "pki.ca_cert": str(cert), "pki.ca_key": str(key)})
    with pytest.raises(ConfigError, match="owner only"):
        station_ca(settings.pki, settings.data_dir)
    os.chmod(key, 0o600)
    ca = station_ca(settings.pki, settings.data_dir)
    assert ca.issuer == own.issuer and ca.root == own.root
    assert not (tmp_path / "data" / "pki" / "csms").exists()  # none of ours was made
    key.write_text("not a key")
    with pytest.raises(ConfigError, match=r"pki\.ca_cert"):
        load_ca(cert, key)


def test_the_tls_client_bundle_keeps_the_configured_ca_and_adds_ours(tmp_path: Path) -> None:
    tls = make_pki(tmp_path)
    settings = load_settings({}, overrides={"server.data_dir": str(tmp_path / "data"),
                                            "ocpp.tls_client_ca": str(tls.ca)})
    pki = in_memory_pki()
    bundled = with_client_ca(settings, pki)
    certs = x509.load_pem_x509_certificates(Path(bundled.ocpp.tls_client_ca).read_bytes())
    assert tls.ca_cert in certs and pki.ca.issuer in certs and pki.ca.root in certs
    assert with_client_ca(settings, None) is settings
    off = load_settings({}, overrides={"pki.trust_own_ca_for_tls": False})
    assert with_client_ca(off, pki).ocpp.tls_client_ca == off.ocpp.tls_client_ca


@pytest.mark.parametrize(("overrides", "key"), [
    ({"pki.contract_provider": "http"}, "pki.contract_provider_url"),
    ({"pki.ocsp_responders": ["file:///etc/passwd"]}, "pki.ocsp_responders"),
    ({"pki.ca_cert": "/somewhere/ca.pem"}, "pki.ca_cert"),
    ({"pki.v2g_ca_key": "/somewhere/v2g.key"}, "pki.v2g_ca_cert"),
    ({"pki.crl_urls": ["ldap://crl.example/ca"]}, "pki.crl_urls"),
    ({"pki.crl_files": ["/nonexistent/ca.crl"]}, "pki.crl_files"),
    ({"ocpp.tls_client_ca": "/nonexistent/ca.pem"}, "ocpp.tls_client_ca"),
])
def test_unusable_pki_settings_are_config_errors(tmp_path: Path, overrides: dict[str, object],
                                                 key: str) -> None:
    settings = load_settings({}, overrides={"server.data_dir": str(tmp_path), **overrides})
    with pytest.raises(ConfigError) as refused:
        _node_pki(settings)
    assert refused.value.key == key


def _node_pki(settings: Settings) -> Settings:
    """What a node does with its settings at start: build the PKI, then the TLS bundle."""
    pki = PkiWiring(settings, InMemoryCertificates(), TokenTable({}), lambda: _never)
    return with_client_ca(settings, pki)


async def _never(station_id: str, request: object) -> object:
    raise AssertionError("not sent")
