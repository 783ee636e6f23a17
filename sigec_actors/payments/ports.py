"""The ports of the payments package: the provider (Stripe or its fake) and the payment store."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol
from uuid import UUID

from sigec_actors.payments.model import (
    Applied,
    IntentRequest,
    Payment,
    ProviderEvent,
    ProviderIntent,
    Refund,
)


class PaymentProvider(Protocol):
    """A PSP's PaymentIntents and refunds; every failure is ProviderFailed."""

    name: str

    async def create_intent(self, request: IntentRequest) -> ProviderIntent:
        """Create (and for pix/boleto confirm) an intent; a retry with the same payment id
        returns the same intent (idempotency key derived from it)."""
        ...

    async def retrieve(self, provider_payment_id: str) -> ProviderIntent: ...

    async def recent(self, since: datetime, limit: int) -> list[ProviderIntent]:
        """Intents created since `since`, newest first, at most `limit`."""
        ...

    async def refund(self, provider_payment_id: str, amount_centavos: int,
                     refund_id: UUID) -> str:
        """Refund part or all of a succeeded intent; returns the provider's refund id."""
        ...

    async def aclose(self) -> None: ...


class PaymentStore(Protocol):
    """Payments, refunds and the exactly-once application of provider events."""

    async def insert(self, payment_id: UUID, user_id: UUID, provider: str, method: str,
                     amount_centavos: int, idempotency_key: str | None = None) -> Payment:
        """A new payment; with a key the user already used, the payment made then (another
        id than `payment_id`)."""
        ...

    async def attach(self, payment_id: UUID, intent: ProviderIntent,
                     details: dict[str, object]) -> Payment:
        """Record the provider's intent id and details (kept in metadata)."""
        ...

    async def fail(self, payment_id: UUID, reason: str) -> Payment: ...

    async def get(self, payment_id: UUID) -> Payment | None: ...

    async def page(self, user_id: UUID, limit: int, offset: int) -> tuple[list[Payment], int]:
        ...

    async def pending_centavos(self, user_id: UUID) -> int: ...

    async def open_since(self, provider: str, since: datetime, limit: int) -> list[Payment]:
        """`provider`'s payments still open (requires_action, processing) created since
        `since`, oldest first, at most `limit` (reconciliation's other direction)."""
        ...

    async def apply(self, provider: str, event: ProviderEvent) -> Applied:
        """Apply an event once per (provider, event id), in one DB transaction with the
        wallet credit it causes (a success credits once per payment, whatever the event)."""
        ...

    async def confirm_offline(self, payment_id: UUID, end_to_end_id: str,
                              amount_centavos: int, now: datetime, expiry_s: float,
                              by: UUID | None = None) -> Applied:
        """A PIX BR Code made here, paid by the transfer `end_to_end_id` (an admin read it on
        the bank statement): credited once like a webhook's success, under the rules of
        offline.check_confirm; the same transfer again is `duplicate` (nothing credited)."""
        ...

    async def expire_offline(self, now: datetime, expiry_s: float, limit: int
                             ) -> list[Payment]:
        """Cancel (reason `expired`) the open BR Code payments made here whose expiry passed;
        returns those this call expired."""
        ...

    async def start_refund(self, payment_id: UUID, amount_centavos: int | None,
                           by: UUID | None, idempotency_key: str | None = None) -> Refund:
        """Debit the wallet and mark the payment refunded (partially) in one transaction;
        with a key already used on this payment, the refund made then (nothing debited)."""
        ...

    async def finish_refund(self, refund_id: UUID, provider_refund_id: str) -> Refund: ...

    async def undo_refund(self, refund_id: UUID, reason: str) -> Refund:
        """The provider refused: credit the wallet back and restore the payment's state."""
        ...
