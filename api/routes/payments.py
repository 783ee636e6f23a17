"""Wallet top-ups: intents by card, PIX or boleto, the caller's payments, refunds, webhooks."""

from __future__ import annotations

from typing import Final
from uuid import UUID

from aiohttp import web

from api.context import AppContext
from api.errors import InvalidInput, NotConfigured, NotFound
from api.problems import Problem
from api.routing import Call, Resource, json_response
from api.schemas import payments as s
from api.security import authenticate
from api.services import need
from sigec_actors.domain.records import AuditEntry, Role
from sigec_actors.payments import brcode, offline, webhook
from sigec_actors.payments.errors import ConfirmMismatch, NotConfirmable
from sigec_actors.payments.model import Method, Payer, Payment
from sigec_actors.payments.taxid import parse_tax_id
from sigec_actors.payments.wiring import EXTRAS_KEY, PaymentsWiring

resource = Resource("payments", authenticate)
routes = resource.table
BASE = "/api/v1/payments"
UUID_PATH = {"id": {"type": "string", "format": "uuid"}}
MONEY_ERRORS = (409, 422, 502, 503)
KEYED: Final = "required"
"""Every money-moving POST needs an Idempotency-Key (422 naming the header without one); the
key also keys the payment or refund row, so a retry after a lost answer finds it."""


def payments_of(ctx: AppContext) -> PaymentsWiring:
    wiring = ctx.extras.get(EXTRAS_KEY)
    if not isinstance(wiring, PaymentsWiring) or not wiring.ready:
        raise NotConfigured("payments")
    return wiring


def payment_out(payment: Payment, owner: bool = True) -> s.PaymentOut:
    meta = payment.metadata
    pix, boleto = meta.get("pix"), meta.get("boleto")
    return s.PaymentOut(
        id=payment.id, status=payment.status.value, method=payment.method,
        amount_centavos=payment.amount_centavos, refunded_centavos=payment.refunded_centavos,
        provider=payment.provider, provider_payment_id=payment.provider_payment_id,
        created_at=payment.created_at, failure_reason=payment.failure_reason,
        client_secret=meta.get("clientSecret") if owner else None,
        pix=s.PixOut(copy_paste=pix["copy_paste"], qr_png=brcode.qr_png_base64(
            pix["copy_paste"]), expires_at=pix.get("expires_at")) if pix else None,
        boleto=s.BoletoOut(number=boleto["number"], pdf_url=boleto.get("pdf_url"),
                           expires_at=boleto.get("expires_at")) if boleto else None,
        end_to_end_id=meta.get(offline.E2E_KEY))


async def _create(call: Call, amount: int, method: Method, payer: Payer | None
                  ) -> web.Response:
    wiring = payments_of(call.ctx)
    config = wiring.config
    if not config.min_amount_centavos <= amount <= config.max_amount_centavos:
        raise InvalidInput("amountCentavos", f"must be in {config.min_amount_centavos}.."
                                             f"{config.max_amount_centavos} centavos")
    payment = await wiring.service.create(UUID(call.caller.sub), amount, method, payer,
                                          call.idempotency_key)
    return json_response(payment_out(payment), status=201)


def _payer(tax_id: str | None, name: str | None, email: str | None) -> Payer:
    if tax_id is None:
        raise InvalidInput("taxId", "a boleto needs the payer's CPF or CNPJ")
    if name is None:
        raise InvalidInput("name", "a boleto needs the payer's name")
    return Payer(tax_id=parse_tax_id(tax_id, "taxId").value, name=name, email=email)


@resource.post(BASE + "/intent", "Top up the wallet by card, PIX or boleto", role=Role.USER,
               body=s.IntentBody, response=s.PaymentOut, status=201, errors=MONEY_ERRORS,
               idempotency=KEYED)
async def intent(call: Call) -> web.Response:
    body = call.body(s.IntentBody)
    method = Method(body.method)
    payer = _payer(body.tax_id, body.name, body.email) if method is Method.BOLETO else None
    return await _create(call, body.amount_centavos, method, payer)


@resource.post(BASE + "/pix", "Top up the wallet by PIX", role=Role.USER, body=s.PixBody,
               response=s.PaymentOut, status=201, errors=MONEY_ERRORS,
               idempotency=KEYED)
async def pix(call: Call) -> web.Response:
    return await _create(call, call.body(s.PixBody).amount_centavos, Method.PIX, None)


@resource.post(BASE + "/boleto", "Top up the wallet by boleto", role=Role.USER,
               body=s.BoletoBody, response=s.PaymentOut, status=201, errors=MONEY_ERRORS,
               idempotency=KEYED)
async def boleto(call: Call) -> web.Response:
    body = call.body(s.BoletoBody)
    return await _create(call, body.amount_centavos, Method.BOLETO,
                         _payer(body.tax_id, body.name, body.email))


@resource.get(BASE + "/history", "The caller's payments, newest first", role=Role.USER,
              query=s.PaymentHistoryQuery, response=s.PaymentPage, errors=(503,))
async def history(call: Call) -> web.Response:
    q = call.query(s.PaymentHistoryQuery)
    items, total = await payments_of(call.ctx).store.page(UUID(call.caller.sub), q.limit,
                                                          q.offset)
    return json_response(s.PaymentPage(items=[payment_out(p) for p in items], total=total))


async def _visible(call: Call) -> Payment:
    """The payment named in the path if the caller owns it (admins see all); 404 otherwise."""
    raw = call.path("id")
    try:
        payment_id = UUID(raw)
    except ValueError:
        raise NotFound("payment", raw) from None
    payment = await payments_of(call.ctx).store.get(payment_id)
    if payment is None or (str(payment.user_id) != call.caller.sub
                           and call.caller.role != Role.ADMIN.value):
        raise NotFound("payment", raw)
    return payment


@resource.get(BASE + "/{id}", "One of the caller's payments", role=Role.USER,
              response=s.PaymentOut, errors=(404, 503), path_types=UUID_PATH)
async def payment(call: Call) -> web.Response:
    found = await _visible(call)
    return json_response(payment_out(found, owner=str(found.user_id) == call.caller.sub))


@resource.post("/api/v1/admin/payments/{id}/refund", "Refund a payment (partly or fully)",
               role=Role.ADMIN, body=s.RefundBody, body_required=False, response=s.RefundOut,
               errors=(404, 409, 422, 502, 503), path_types=UUID_PATH, idempotency=KEYED)
async def refund(call: Call) -> web.Response:
    found = await _visible(call)
    wiring = payments_of(call.ctx)
    done = await wiring.service.refund(found.id, call.body(s.RefundBody).amount_centavos,
                                       UUID(call.caller.sub), call.idempotency_key)
    await need(call.ctx.audit, "audit log").record(AuditEntry(
        "user", "payment.refund", call.caller.sub, "payment", str(found.id),
        details={"refundId": str(done.id), "amountCentavos": done.amount_centavos},
        ip=call.request.remote))
    after = await wiring.store.get(found.id)
    assert after is not None
    return json_response(s.RefundOut(
        id=done.id, payment_id=done.payment_id, amount_centavos=done.amount_centavos,
        status=done.status, provider_refund_id=done.provider_refund_id,
        payment=payment_out(after, owner=False)))


@resource.post("/api/v1/admin/payments/{id}/confirm",
               "Confirm a PIX BR Code payment made here from the bank statement",
               role=Role.ADMIN, body=s.ConfirmBody, response=s.PaymentOut,
               errors=(404, 409, 422, 503), path_types=UUID_PATH, idempotency=KEYED)
async def confirm(call: Call) -> web.Response:
    """Credit the wallet once for the transfer `endToEndId` (409 naming the payment's `state`
    when it cannot be confirmed, 422 naming the field that does not fit)."""
    found = await _visible(call)
    body = call.body(s.ConfirmBody)
    try:
        done = await payments_of(call.ctx).service.confirm(
            found.id, body.end_to_end_id, body.amount_centavos, UUID(call.caller.sub))
    except NotConfirmable as exc:
        raise Problem(409, "Conflict", exc.detail, paymentId=exc.payment_id,
                      state=exc.state) from None
    except ConfirmMismatch as exc:
        raise InvalidInput(exc.field, exc.problem) from None
    await need(call.ctx.audit, "audit log").record(AuditEntry(
        "user", "payment.confirm", call.caller.sub, "payment", str(found.id),
        details={"endToEndId": body.end_to_end_id, "amountCentavos": body.amount_centavos,
                 "credited": done.credited}, ip=call.request.remote))
    assert done.payment is not None
    return json_response(payment_out(done.payment, owner=False))


@resource.post(BASE + "/webhooks/stripe", "Stripe's signed events (no token: the signature)",
               role=None, response=s.WebhookOut, errors=(400, 503))
async def stripe_webhook(call: Call) -> web.Response:
    wiring = payments_of(call.ctx)
    raw = await call.request.read()
    event = webhook.verify(raw, call.request.headers.get(webhook.SIGNATURE_HEADER),
                           wiring.webhook_secret, wiring.config.webhook_tolerance_s)
    if event is None:  # another kind of object: acknowledged, nothing to do
        return json_response(s.WebhookOut(received=True, duplicate=False))
    applied = await wiring.service.apply(event)
    return json_response(s.WebhookOut(received=True, duplicate=applied.duplicate))
