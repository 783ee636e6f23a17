"""Payment records: what we store, what we ask the provider, what it answers and reports."""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

import msgspec

from sigec_actors.payments.lifecycle import PaymentStatus

SOURCE_TOPUP = "payment"
"""Journal source type of a top-up credit (source id: our payment id)."""
SOURCE_REFUND = "refund"
"""Journal source type of a refund debit (source id: the refund id)."""
SOURCE_REFUND_UNDONE = "refund_reversal"
"""Journal source type putting back a refund the provider refused (source id: the refund id)."""


class Method(StrEnum):
    CARD = "card"
    PIX = "pix"
    BOLETO = "boleto"


class Payer(msgspec.Struct, frozen=True, kw_only=True):
    """Who pays a boleto: CPF/CNPJ (digits), name, optional e-mail."""

    tax_id: str
    name: str
    email: str | None = None


class PixCode(msgspec.Struct, frozen=True, kw_only=True):
    copy_paste: str
    expires_at: datetime | None = None


class BoletoVoucher(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    pdf_url: str | None = None
    expires_at: datetime | None = None


def provider_key(user_id: UUID, client_key: str) -> str:
    """The provider's idempotency key for a client's Idempotency-Key (per user, hashed: any
    printable key fits Stripe's 255 characters and nothing of it leaks to the provider)."""
    digest = hashlib.sha256(f"{user_id}\n{client_key}".encode()).hexdigest()
    return f"sigec-intent-{digest[:48]}"


class IntentRequest(msgspec.Struct, frozen=True, kw_only=True):
    """A PaymentIntent to create; the provider's idempotency key is `idempotency_key` (from
    the client's Idempotency-Key) or else derives from `payment_id`."""

    payment_id: UUID
    user_id: UUID
    amount_centavos: int
    method: Method
    payer: Payer | None = None
    idempotency_key: str | None = None


class ProviderIntent(msgspec.Struct, frozen=True, kw_only=True):
    """A PaymentIntent as the provider reports it (create, retrieve, list)."""

    provider_payment_id: str
    provider_status: str
    status: PaymentStatus
    amount_centavos: int
    payment_id: UUID | None = None  # metadata.payment_id: ours, or None for someone else's
    client_secret: str | None = None
    pix: PixCode | None = None
    boleto: BoletoVoucher | None = None
    created: datetime | None = None


class Payment(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    user_id: UUID
    provider: str
    provider_payment_id: str | None
    method: str
    amount_centavos: int
    currency: str
    status: PaymentStatus
    refunded_centavos: int
    journal_entry_id: UUID | None
    failure_reason: str | None
    metadata: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    idempotency_key: str | None = None  # the client's Idempotency-Key that created it


class ProviderEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A provider event (a verified webhook, or a difference reconciliation found)."""

    event_id: str
    type: str
    provider_payment_id: str
    payment_id: UUID | None
    payload: dict[str, Any]


class Applied(msgspec.Struct, frozen=True, kw_only=True):
    """What applying an event did: `duplicate` (seen before), the payment's state after it,
    and whether this call credited the wallet."""

    duplicate: bool
    payment: Payment | None
    changed: bool = False
    credited: bool = False


class Refund(msgspec.Struct, frozen=True, kw_only=True):
    id: UUID
    payment_id: UUID
    amount_centavos: int
    status: str
    provider_refund_id: str | None
    requested_by: UUID | None
    created_at: datetime
    idempotency_key: str | None = None
