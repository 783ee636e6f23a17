"""Typed errors of the payments package; api/problems.py turns them into HTTP answers."""

from __future__ import annotations

from uuid import UUID

from sigec_actors.errors import SigecError


class PaymentError(SigecError):
    """Base of the payments errors."""


class UnknownPayment(PaymentError):
    def __init__(self, payment_id: UUID | str) -> None:
        self.payment_id = str(payment_id)
        super().__init__(f"payment {payment_id} not found")


class IllegalTransition(PaymentError):
    """A payment cannot go from `current` to `target` (e.g. refunding a failed payment)."""

    def __init__(self, payment_id: UUID | str, current: str, target: str) -> None:
        self.payment_id = str(payment_id)
        self.current = current
        self.target = target
        super().__init__(f"payment {payment_id} cannot go from {current} to {target}")


class RefundTooLarge(PaymentError):
    """The refund asked for more than what remains to refund (or for nothing)."""

    def __init__(self, payment_id: UUID | str, asked: int, remaining: int) -> None:
        self.payment_id = str(payment_id)
        self.asked = asked
        self.remaining = remaining
        super().__init__(f"payment {payment_id}: refund of {asked} centavos asked, "
                         f"{remaining} remain refundable")


class ProviderFailed(PaymentError):
    """The payment provider refused or could not be reached; `operation` says what failed."""

    def __init__(self, operation: str, detail: str, code: str | None = None) -> None:
        self.operation = operation
        self.detail = detail
        self.code = code
        super().__init__(f"payment provider: {operation} failed: {detail}")


class BadSignature(PaymentError):
    """A webhook whose signature does not verify (wrong secret, altered body, too old)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"webhook signature rejected: {reason}")


class IdempotencyKeyReused(PaymentError):
    """A payment or refund already made under this Idempotency-Key asked other things (the
    stored answer expired, the keyed row did not)."""

    def __init__(self, key: str, detail: str) -> None:
        self.key = key
        self.detail = detail
        super().__init__(f"Idempotency-Key already used for another request: {detail}")


class NotConfirmable(PaymentError):
    """An operator's confirmation its payment's state refuses; `state` says why: `not_brcode`
    (its provider reports it), `succeeded` / `partially_refunded` / `refunded` (confirmed
    before, by another transfer), `expired`, `failed`, `canceled`, or `end_to_end_id_used`
    (that transfer confirmed another payment)."""

    def __init__(self, payment_id: UUID | str, state: str, detail: str) -> None:
        self.payment_id = str(payment_id)
        self.state = state
        self.detail = detail
        super().__init__(detail)


class ConfirmMismatch(PaymentError):
    """A confirmation whose `field` does not fit the payment (another amount, an end-to-end
    id that is malformed or dated outside the payment's life)."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"{field} {problem}")
