"""The offline provider's provisioning signing leaf is kept in the data dir: every wiring (node)
over it signs with the same leaf, issued again only when missing or near its end."""

from __future__ import annotations

import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives import hashes, serialization

from sigec_actors.config import load_settings
from sigec_actors.errors import ConfigError
from sigec_actors.pki.exi.cps import LEAF_DAYS, RENEW_BEFORE, Provisioning
from sigec_actors.pki.provider import OfflineContractProvider
from sigec_actors.pki.wiring import PkiWiring
from sigec_actors.testing.pki import InMemoryCertificates, TokenTable


async def _never_sent(station_id: str, request: msgspec.Struct) -> msgspec.Struct:
    raise AssertionError("not sent")


def _cps(data_dir: Path) -> Provisioning:
    settings = load_settings(env={}, overrides={"server.data_dir": str(data_dir)})
    provider = PkiWiring(settings, InMemoryCertificates(), TokenTable({}),
                         lambda: _never_sent).provider
    assert isinstance(provider, OfflineContractProvider)
    return provider.cps


def _key_der(provisioning: Provisioning, now: datetime) -> bytes:
    return provisioning.signer(now)[1].private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())


def test_two_wirings_over_one_data_dir_sign_with_the_same_leaf(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    first, second = _cps(tmp_path), _cps(tmp_path)
    leaf = first.signer(now)[0]
    assert second.signer(now)[0] == leaf
    assert _key_der(second, now) == _key_der(first, now)
    leaf.verify_directly_issued_by(first.ca.issuer)
    kept = tmp_path / "pki" / "test-cps" / "provisioning.pem"
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    # a node started later (a restart) reads the same leaf rather than issuing one
    assert _cps(tmp_path).signer(now)[0] == leaf
    assert _cps(tmp_path).signer(now + timedelta(days=LEAF_DAYS) - RENEW_BEFORE
                                 - timedelta(hours=1))[0] == leaf


def test_a_leaf_near_its_end_is_issued_again_and_kept(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    first = _cps(tmp_path)
    old = first.signer(now)[0]
    later = old.not_valid_after_utc - RENEW_BEFORE + timedelta(minutes=1)
    renewed = first.signer(later)[0]
    assert renewed != old and renewed.not_valid_after_utc > later + RENEW_BEFORE
    # another node holding the old leaf in memory picks up the renewed one from the file
    assert _cps(tmp_path).signer(later)[0] == renewed
    other = Provisioning(first.ca, first.path.parent)
    assert other.signer(later)[0].fingerprint(hashes.SHA256()) == renewed.fingerprint(
        hashes.SHA256())


def test_an_unusable_kept_leaf_is_replaced_and_a_readable_one_refused(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    first = _cps(tmp_path)
    leaf = first.signer(now)[0]
    first.path.write_text("not a certificate")  # damaged: issued again
    replaced = _cps(tmp_path).signer(now)[0]
    assert replaced != leaf
    replaced.verify_directly_issued_by(first.ca.issuer)
    first.path.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        _cps(tmp_path)
