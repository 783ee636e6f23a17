"""Config errors at start: `payments.pix_provider = "brcode"` without a PIX key, and
`payments.provider = "stripe"` without its API key or webhook signing secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from sigec_actors.config import load_settings
from sigec_actors.errors import ConfigError
from sigec_actors.payments.wiring import PaymentsWiring
from sigec_actors.testing import InMemoryAlerts
from sigec_actors.testing.payments import InMemoryPayments
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


async def test_stripe_needs_its_api_key_and_webhook_secret(tmp_path: Path) -> None:
    """What the node's wiring refuses (serve then exits 2 with the one line); nothing is sent."""
    env = {"SIGEC_DATA_DIR": str(tmp_path), "SIGEC_PAYMENTS__PROVIDER": "stripe"}
    for extra, missing in (({}, "payments.stripe_api_key"),
                           ({"SIGEC_PAYMENTS__STRIPE_API_KEY": "sk_test_x"},
                            "payments.webhook_secret")):
        with pytest.raises(ConfigError) as caught:
            PaymentsWiring(load_settings(env={**env, **extra}), None, None, InMemoryAlerts())
        assert caught.value.key == missing
    wiring = PaymentsWiring(load_settings(env={
        **env, "SIGEC_PAYMENTS__STRIPE_API_KEY": "sk_test_x",
        "SIGEC_PAYMENTS__WEBHOOK_SECRET": "whsec_x"}), None, None, InMemoryAlerts(),
        store=InMemoryPayments())
    assert (wiring.ready, wiring.provider.name, wiring.webhook_secret) == (True, "stripe",
                                                                           "whsec_x")
    assert not (tmp_path / "payments_webhook_secret").exists()  # no generated secret
    await wiring.aclose()
