"""PIX BR Codes made here (payments.pix_provider = "brcode"): when they expire, and the rules of
an operator's confirmation from the bank statement. Pure: no I/O, `now` is given.

No PSP reports such a payment, so two things end it: an admin who finds the transfer on the
bank statement confirms it (its PIX end-to-end id and amount), or its expiry passes and the
node's job cancels it (`failure_reason` "expired"). The EMV payload itself has no expiry field
(a dynamic code's expiry lives in the JSON its PSP serves at the location URL), so `expiresAt`
is ours: shown with the code, enforced here.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from sigec_actors.payments.errors import ConfirmMismatch, NotConfirmable
from sigec_actors.payments.lifecycle import OPEN, PAID, PaymentStatus
from sigec_actors.payments.model import Payment

BRCODE = "brcode"
"""The provider name of a payment whose BR Code was made here (no PSP)."""
EXPIRED = "expired"
"""The failure reason (and Stripe's `cancellation_reason`) of a code whose time ran out."""
E2E_KEY = "endToEndId"
"""Where the confirming transfer's end-to-end id is kept in the payment's metadata."""
E2E_TOLERANCE = timedelta(hours=12)
"""The SPI accepts an end-to-end id dated up to 12 h from the transfer's real time."""
_E2E = re.compile(r"E(?P<ispb>[0-9]{8})(?P<at>[0-9]{12})(?P<seq>[A-Za-z0-9]{11})")


def end_to_end_time(end_to_end_id: str) -> datetime:
    """The UTC minute a PIX end-to-end id was issued at (`E` + the payer's PSP's ISPB, 8
    digits + yyyyMMddHHmm + 11 letters or digits: 32 characters); ConfirmMismatch naming
    `endToEndId` when it is not one."""
    match = _E2E.fullmatch(end_to_end_id)
    if match is None:
        raise ConfirmMismatch("endToEndId", "must be E + ISPB (8 digits) + yyyyMMddHHmm + 11 "
                                            "letters or digits (32 characters)")
    try:
        return datetime.strptime(match["at"], "%Y%m%d%H%M").replace(tzinfo=UTC)
    except ValueError:
        raise ConfirmMismatch("endToEndId", f"{match['at']} is not a yyyyMMddHHmm time"
                              ) from None


def expires_at(payment: Payment, expiry_s: float) -> datetime:
    """When a BR Code made here stops being payable: the `pix.expires_at` it was made with,
    else (a code made before expiries existed) its creation plus `expiry_s`."""
    pix = payment.metadata.get("pix")
    stated = pix.get("expires_at") if isinstance(pix, dict) else None
    if isinstance(stated, str):
        return datetime.fromisoformat(stated)
    return payment.created_at + timedelta(seconds=expiry_s)


def is_due(payment: Payment, now: datetime, expiry_s: float) -> bool:
    """An open BR Code payment made here whose expiry has passed."""
    return (payment.provider == BRCODE and payment.status in OPEN
            and expires_at(payment, expiry_s) <= now)


def state_of(payment: Payment) -> str:
    """What the API calls a payment's state: `expired` for a code cancelled by its expiry."""
    if payment.status is PaymentStatus.CANCELED and payment.failure_reason == EXPIRED:
        return EXPIRED
    return payment.status.value


def check_confirm(payment: Payment, end_to_end_id: str, amount_centavos: int,
                  now: datetime, expiry_s: float) -> bool:
    """May an admin confirm `payment` as paid by the transfer `end_to_end_id`? True: yes,
    credit it; False: it already was, by this very transfer (answer it again, credit
    nothing). NotConfirmable (409, its `state` says why) or ConfirmMismatch (422, naming
    the field) otherwise."""
    if payment.provider != BRCODE:
        raise NotConfirmable(payment.id, "not_brcode", f"payment {payment.id} is a "
                             f"{payment.provider} {payment.method} payment, not a PIX BR Code "
                             "made here: its provider reports it")
    at = end_to_end_time(end_to_end_id)
    if amount_centavos != payment.amount_centavos:
        raise ConfirmMismatch("amountCentavos", f"payment {payment.id} is of "
                              f"{payment.amount_centavos} centavos, not {amount_centavos}")
    if payment.status in PAID:
        if payment.metadata.get(E2E_KEY) == end_to_end_id:
            return False
        raise NotConfirmable(payment.id, payment.status.value, f"payment {payment.id} was "
                             f"confirmed already, by {payment.metadata.get(E2E_KEY)}")
    if payment.status not in OPEN or is_due(payment, now, expiry_s):
        state = EXPIRED if payment.status in OPEN else state_of(payment)
        raise NotConfirmable(payment.id, state, f"payment {payment.id} is {state}: its code "
                             "can no longer be confirmed (return a late transfer to the "
                             "payer from the bank)")
    if not payment.created_at - E2E_TOLERANCE <= at <= now + E2E_TOLERANCE:
        raise ConfirmMismatch("endToEndId", f"dated {at:%Y-%m-%d %H:%M} UTC: not between the "
                              f"payment's creation ({payment.created_at:%Y-%m-%d %H:%M} UTC) "
                              "and now, give or take 12 h")
    return True
