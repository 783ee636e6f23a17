"""The pure rules of PIX BR Codes made here: end-to-end ids, expiry, what a confirm may do."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from sigec_actors.payments import offline
from sigec_actors.payments.errors import ConfirmMismatch, NotConfirmable
from sigec_actors.payments.lifecycle import PaymentStatus
from sigec_actors.payments.model import Payment

MADE = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
DAY = 86_400.0
E2E = "E1823612020261202103000000000001"  # paid 10:30 UTC


def code(status: PaymentStatus = PaymentStatus.REQUIRES_ACTION, provider: str = "brcode",
         **meta: object) -> Payment:
    return Payment(id=uuid4(), user_id=uuid4(), provider=provider, provider_payment_id="t",
                   method="pix", amount_centavos=500, currency="BRL", status=status,
                   refunded_centavos=0, journal_entry_id=None,
                   failure_reason="expired" if status is PaymentStatus.CANCELED else None,
                   metadata=dict(meta), created_at=MADE, updated_at=MADE)


def test_end_to_end_ids() -> None:
    assert offline.end_to_end_time(E2E) == datetime(2026, 12, 2, 10, 30, tzinfo=UTC)
    for bad in ("", E2E[:-1], E2E + "1", "e" + E2E[1:], E2E[:-1] + "-",
                "E18236120202602301030abcdefghijk"):  # 30 February
        with pytest.raises(ConfirmMismatch) as info:
            offline.end_to_end_time(bad)
        assert info.value.field == "endToEndId"


def test_expiry_is_the_codes_own_or_its_creation_plus_the_setting() -> None:
    stated = MADE + timedelta(hours=2)
    assert offline.expires_at(code(pix={"expires_at": stated.isoformat()}), DAY) == stated
    assert offline.expires_at(code(), DAY) == MADE + timedelta(days=1)  # made before expiries
    assert offline.is_due(code(), MADE + timedelta(days=1), DAY)
    assert not offline.is_due(code(), MADE + timedelta(days=1, seconds=-1), DAY)
    assert not offline.is_due(code(provider="fake"), MADE + timedelta(days=9), DAY)
    assert not offline.is_due(code(PaymentStatus.SUCCEEDED), MADE + timedelta(days=9), DAY)


def test_what_a_confirm_may_do() -> None:
    now = MADE + timedelta(hours=1)
    assert offline.check_confirm(code(), E2E, 500, now, DAY) is True
    paid = code(PaymentStatus.SUCCEEDED, endToEndId=E2E)
    assert offline.check_confirm(paid, E2E, 500, now, DAY) is False  # the same transfer
    refusals = [(paid, "E1823612020261202103000000000002", 500, now, "succeeded"),
                (code(provider="fake"), E2E, 500, now, "not_brcode"),
                (code(PaymentStatus.CANCELED), E2E, 500, now, "expired"),
                (code(PaymentStatus.FAILED), E2E, 500, now, "failed"),
                (code(), E2E, 500, MADE + timedelta(days=1), "expired")]  # the job not run yet
    for payment, e2e, amount, at, state in refusals:
        with pytest.raises(NotConfirmable) as info:
            offline.check_confirm(payment, e2e, amount, at, DAY)
        assert info.value.state == state
    mismatches = [(E2E, 499, "amountCentavos"),
                  ("E1823612020261201213000000000001", 500, "endToEndId"),  # 12.5 h early
                  ("E1823612020261203000000000000001", 500, "endToEndId")]  # 13 h after now
    for e2e, amount, field in mismatches:
        with pytest.raises(ConfirmMismatch) as mismatch:
            offline.check_confirm(code(), e2e, amount, now, DAY)
        assert mismatch.value.field == field
    assert offline.check_confirm(code(), "E1823612020261201220000000000001", 500, now, DAY)
