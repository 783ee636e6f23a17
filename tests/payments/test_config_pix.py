"""`payments.pix_provider = "brcode"` without a PIX key is a config error at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigec_actors.config import load_settings
from sigec_actors.errors import ConfigError
from tests.cluster.test_bind_config import sigec

BRCODE = {"SIGEC_PAYMENTS__PIX_PROVIDER": "brcode"}


def test_brcode_needs_a_pix_key_or_a_location() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(env=BRCODE)
    assert "payments.pix_key" in str(caught.value)
    with pytest.raises(ConfigError):
        load_settings(env={**BRCODE, "SIGEC_PAYMENTS__PIX_KEY": "   "})
    keyed = load_settings(env={**BRCODE, "SIGEC_PAYMENTS__PIX_KEY": "+5511999990000"})
    assert keyed.payments.pix_key == "+5511999990000"
    located = load_settings(env={**BRCODE, "SIGEC_PAYMENTS__PIX_LOCATION": "pix.example/v2/1"})
    assert located.payments.pix_location
    assert load_settings(env={}).payments.pix_provider == "provider"  # the default starts


def test_serve_with_brcode_and_no_key_stops_with_one_config_error_line(tmp_path: Path) -> None:
    done = sigec(tmp_path, BRCODE, "serve")
    assert done.returncode == 2, done.stderr
    assert done.stderr.splitlines() == [
        'sigec: config error: payments.pix_key: required with payments.pix_provider = "brcode" '
        "(or set payments.pix_location)"]
