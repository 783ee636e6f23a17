"""A node's payments: provider, store, service and reconciliation job; the serve's fake Stripe."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from sigec_actors.adapters.pg_payments import PgPayments
from sigec_actors.adapters.stripe_provider import StripeProvider
from sigec_actors.alerts.ports import Alerts
from sigec_actors.config import PaymentsConfig, Settings
from sigec_actors.errors import ConfigError
from sigec_actors.jobs import Jobs, every
from sigec_actors.payments.fake_stripe import WEBHOOK_PATH, FakeStripe
from sigec_actors.payments.ports import PaymentProvider, PaymentStore
from sigec_actors.payments.reconcile import Reconciler
from sigec_actors.payments.service import PaymentService
from sigec_actors.ports import DbPool, LedgerRepository
from sigec_actors.private_files import kept_secret

EXTRAS_KEY = "payments"
FAKE_KEY_FILE = "payments_fake_key"
SIGNING_FILE = "payments_webhook_secret"


def webhook_secret(settings: Settings) -> str:
    """The configured signing secret; with the fake, one generated once under the data dir."""
    config = settings.payments
    if config.webhook_secret:
        return config.webhook_secret
    if config.provider == "stripe":
        raise ConfigError("payments.webhook_secret", "required with payments.provider = stripe")
    return kept_secret(settings.data_dir / SIGNING_FILE, "payments.webhook_secret",
                       lambda: "whsec_" + secrets.token_urlsafe(32))


def fake_api_key(data_dir: Path) -> str:
    return kept_secret(data_dir / FAKE_KEY_FILE, "payments.stripe_api_key",
                       lambda: "sk_test_fake_" + secrets.token_urlsafe(24))


async def start_fake(settings: Settings) -> tuple[Settings, FakeStripe | None]:
    """With payments.provider = fake, start the fake on loopback and return the settings the
    nodes use (its URL and key, like the NATS URL); otherwise the settings unchanged."""
    config = settings.payments
    if config.provider != "fake":
        return settings, None
    fake = FakeStripe(api_key=fake_api_key(settings.data_dir),
                      webhook_secret=webhook_secret(settings))
    url = await fake.start("127.0.0.1", 0)
    payments = msgspec.structs.replace(config, stripe_api_base=url, stripe_api_key=fake.api_key,
                                       webhook_secret=fake.webhook_secret)
    return msgspec.structs.replace(settings, payments=payments), fake


class PaymentsWiring:
    """What the payment routes reach (`ctx.extras["payments"]`) and the node's reconcile job."""

    def __init__(self, settings: Settings, pool: DbPool | None, ledger: LedgerRepository | None,
                 alerts: Alerts, clock: Callable[[], datetime] = lambda: datetime.now(UTC), *,
                 store: PaymentStore | None = None, provider: PaymentProvider | None = None
                 ) -> None:
        config = self.config = settings.payments
        if config.provider == "stripe" and not config.stripe_api_key:
            raise ConfigError("payments.stripe_api_key", "required with payments.provider = "
                                                         "stripe")
        self.webhook_secret = webhook_secret(settings)
        self._injected = provider is not None
        if store is None:
            assert pool is not None, "the PostgreSQL store needs a pool"
            assert ledger is not None, "the PostgreSQL store needs the ledger"
            store = PgPayments(pool, ledger)
        self.store: PaymentStore = store
        self.provider: PaymentProvider = provider or StripeProvider(
            config.stripe_api_key or "sk_test_unset", config.stripe_api_base,
            name=config.provider, timeout_s=config.request_timeout_s,
            pix_expires_after_s=config.pix_expires_after_s,
            boleto_expires_after_days=config.boleto_expires_after_days)
        self.service = PaymentService(self.store, self.provider, config, clock)
        self.reconciler = Reconciler(self.store, self.provider, alerts,
                                     config.reconcile_window_s, clock,
                                     config.reconcile_stale_after_s)
        self._jobs = Jobs()

    @property
    def ready(self) -> bool:
        """False for a fake provider nobody started (a node built outside `sigec serve`)."""
        return bool(self._injected or self.config.provider == "stripe"
                    or self.config.stripe_api_base)

    def start(self) -> None:
        # BR Codes made here expire whatever the provider (also ones made before a switch
        # back to pix_provider = "provider"); every node may run a round: each code once.
        self._jobs.spawn("payments-brcode-expire", every(
            self.config.brcode_expire_check_s, self.service.expire_offline,
            job="payments-brcode-expire"))
        if self.ready:
            self._jobs.spawn("payments-reconcile", every(
                self.config.reconcile_interval_s, self.reconciler.run_once,
                job="payments-reconcile"))

    async def aclose(self) -> None:
        await self._jobs.stop()
        await self.provider.aclose()


def settings_for_test(settings: Settings, **changes: object) -> Settings:
    """Settings with [payments] keys changed (tests and tools)."""
    payments: PaymentsConfig = msgspec.structs.replace(settings.payments, **changes)
    return msgspec.structs.replace(settings, payments=payments)


def fake_extra(fake: FakeStripe | None, http_url: str) -> dict[str, str]:
    """Point the fake's webhooks at the server; runtime.json's entry for `sigec payments
    simulate` (empty without the fake)."""
    if fake is None:
        return {}
    fake.webhook_url = http_url + WEBHOOK_PATH
    return {"paymentsFakeUrl": fake.url}
