"""Reconciliation: the provider's recent PaymentIntents against ours; differences are alerted."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import msgspec
import structlog

from sigec_actors.alerts.model import NewAlert, Severity
from sigec_actors.alerts.ports import Alerts
from sigec_actors.payments.errors import ProviderFailed
from sigec_actors.payments.lifecycle import OPEN, PAID, PaymentStatus
from sigec_actors.payments.model import Payment, ProviderEvent, ProviderIntent
from sigec_actors.payments.ports import PaymentProvider, PaymentStore

log = structlog.get_logger("payments.reconcile")
ALERT_KIND = "payment_mismatch"
LIMIT = 5000
GRACE_S = 60.0
"""An open payment younger than this may not be at the provider yet (its intent is being made)."""
APPLIED = {"missed_success": "payment_intent.succeeded",
           "missed_failure": "payment_intent.payment_failed",
           "missed_cancel": "payment_intent.canceled"}
"""Differences applied through the webhook path, as the event that was missed."""


class Difference(msgspec.Struct, frozen=True, kw_only=True):
    kind: str
    provider_payment_id: str  # "" for a payment the provider never answered
    payment_id: str | None
    ours: str | None
    theirs: str


def compare(ours: Payment | None, intent: ProviderIntent) -> Difference | None:  # noqa: PLR0911
    """What differs between our payment and the provider's intent, if anything."""
    theirs = intent.status

    def diff(kind: str) -> Difference:
        return Difference(kind=kind, provider_payment_id=intent.provider_payment_id,
                          payment_id=str(intent.payment_id) if intent.payment_id else None,
                          ours=ours.status.value if ours else None,
                          theirs=intent.provider_status)

    if ours is None:
        return diff("unknown_payment")
    if ours.amount_centavos != intent.amount_centavos:
        return diff("amount_mismatch")
    if theirs is PaymentStatus.SUCCEEDED and ours.status not in PAID:
        return diff("missed_success")
    if theirs is PaymentStatus.CANCELED and ours.status in OPEN:
        return diff("missed_cancel")
    if theirs is PaymentStatus.FAILED and ours.status in OPEN:
        return diff("missed_failure")
    if ours.status in PAID and theirs is not PaymentStatus.SUCCEEDED:
        return diff("paid_here_not_there")
    return None


def unlisted(payment: Payment, listed: set[str], now: datetime, window: timedelta,
             stale_after: timedelta) -> Difference | None:
    """The other direction: a payment of ours still open that the provider did not list
    (created inside the listed `window`, after the grace), or open for longer than
    `stale_after`."""
    age = now - payment.created_at
    if age >= stale_after:
        kind = "stale_open"
    elif payment.provider_payment_id not in listed and timedelta(seconds=GRACE_S) <= age \
            < window:
        kind = "missing_at_provider"
    else:
        return None
    return Difference(kind=kind, provider_payment_id=payment.provider_payment_id or "",
                      payment_id=str(payment.id), ours=payment.status.value, theirs="unlisted"
                      if kind == "missing_at_provider" else "not checked")


def reconcile_event_id(intent: ProviderIntent, ours: Payment) -> str:
    """The event id a correction is recorded under: the provider's state and the version of
    ours it corrects (`updated_at`). Rounds on several nodes that saw the same difference
    apply it once; a later difference of the same kind (a second attempt's lost failure)
    is news again."""
    return (f"reconcile:{intent.provider_payment_id}:{intent.provider_status}:"
            f"{ours.updated_at.isoformat()}")


class Reconciler:
    """One round: list, compare, apply what was missed exactly once, alert every difference."""

    def __init__(self, store: PaymentStore, provider: PaymentProvider, alerts: Alerts,
                 window_s: float, clock: Callable[[], datetime],
                 stale_after_s: float = 432_000.0) -> None:
        self._store = store
        self._provider = provider
        self._alerts = alerts
        self._window = timedelta(seconds=window_s)
        self._stale = timedelta(seconds=stale_after_s)
        self._clock = clock

    async def run_once(self) -> list[Difference]:
        try:
            intents = await self._provider.recent(self._clock() - self._window, LIMIT)
        except ProviderFailed as exc:
            log.warning("payments_reconcile_failed", error=str(exc))
            return []
        found = []
        for intent in intents:
            if intent.payment_id is None:
                continue  # not created by us
            ours = await self._store.get(intent.payment_id)
            diff = compare(ours, intent)
            if diff is not None:
                await self._handle(diff, intent, ours)
                found.append(diff)
        return found + await self._unlisted(intents)

    async def _unlisted(self, intents: list[ProviderIntent]) -> list[Difference]:
        now = self._clock()
        listed = {i.provider_payment_id for i in intents}
        since = now - self._stale - self._window  # stale ones are alerted for a window
        found = []
        for payment in await self._store.open_since(self._provider.name, since, LIMIT):
            diff = unlisted(payment, listed, now, self._window, self._stale)
            if diff is not None:
                await self._alert(diff)
                found.append(diff)
        return found

    async def _handle(self, diff: Difference, intent: ProviderIntent,
                      ours: Payment | None) -> None:
        event_type = APPLIED.get(diff.kind)
        if event_type is not None and ours is not None:  # the webhook's exactly-once path
            await self._store.apply(self._provider.name, ProviderEvent(
                event_id=reconcile_event_id(intent, ours), type=event_type,
                provider_payment_id=intent.provider_payment_id, payment_id=intent.payment_id,
                payload={"reconciled": True}))
        await self._alert(diff)

    async def _alert(self, diff: Difference) -> None:
        log.warning("payment_mismatch", **msgspec.to_builtins(diff))
        await self._alerts.open(NewAlert(
            severity=Severity.WARNING, kind=ALERT_KIND,
            message=f"payment {diff.payment_id or diff.provider_payment_id}: {diff.kind} "
                    f"(ours {diff.ours}, provider {diff.theirs})",
            details=msgspec.to_builtins(diff),
            dedupe_key=f"{ALERT_KIND}:{diff.provider_payment_id or diff.payment_id}:{diff.kind}"))
