"""Bodies of the payment routes (amounts in integer centavos)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import msgspec

from api.schemas.base import Body, Limit, Offset, Out

Amount = Annotated[int, msgspec.Meta(ge=1, le=10**12)]
Name = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
Email = Annotated[str, msgspec.Meta(min_length=3, max_length=254, pattern=r"^[^@\s]+@[^@\s]+$")]
TaxIdText = Annotated[str, msgspec.Meta(min_length=11, max_length=18)]


class IntentBody(Body, frozen=True, kw_only=True):
    """A top-up; a boleto also needs the payer (taxId, name, optional email)."""

    amount_centavos: Amount
    method: Literal["card", "pix", "boleto"]
    tax_id: TaxIdText | None = None
    name: Name | None = None
    email: Email | None = None


class PixBody(Body, frozen=True, kw_only=True):
    amount_centavos: Amount


class BoletoBody(Body, frozen=True, kw_only=True):
    amount_centavos: Amount
    tax_id: TaxIdText
    name: Name
    email: Email | None = None


class RefundBody(Body, frozen=True, kw_only=True):
    """No amount: everything that remains to refund."""

    amount_centavos: Amount | None = None


class ConfirmBody(Body, frozen=True, kw_only=True):
    """A PIX BR Code payment found on the bank statement: the transfer's end-to-end id (E +
    ISPB + yyyyMMddHHmm + 11 letters or digits) and the amount received (must be the
    payment's)."""

    end_to_end_id: Annotated[str, msgspec.Meta(min_length=32, max_length=32)]
    amount_centavos: Amount


class PaymentHistoryQuery(Body, frozen=True, kw_only=True):
    limit: Limit = 50
    offset: Offset = 0


class PixOut(Out, frozen=True, kw_only=True):
    copy_paste: str
    qr_png: str
    expires_at: datetime | None


class BoletoOut(Out, frozen=True, kw_only=True):
    number: str
    pdf_url: str | None
    expires_at: datetime | None


class PaymentOut(Out, frozen=True, kw_only=True, omit_defaults=True):
    id: UUID
    status: str
    method: str
    amount_centavos: int
    refunded_centavos: int
    provider: str
    provider_payment_id: str | None
    created_at: datetime
    client_secret: str | None = None
    pix: PixOut | None = None
    boleto: BoletoOut | None = None
    failure_reason: str | None = None
    end_to_end_id: str | None = None  # the PIX transfer that confirmed a BR Code made here


class PaymentPage(Out, frozen=True, kw_only=True):
    items: list[PaymentOut]
    total: int


class RefundOut(Out, frozen=True, kw_only=True):
    id: UUID
    payment_id: UUID
    amount_centavos: int
    status: str
    provider_refund_id: str | None
    payment: PaymentOut


class WebhookOut(Out, frozen=True, kw_only=True):
    received: bool
    duplicate: bool
