"""The caller's wallet: balance (with V2G payouts pending) and its statement."""

from __future__ import annotations

from typing import Protocol, runtime_checkable
from uuid import UUID

from aiohttp import web

from api.context import AppContext
from api.errors import NotConfigured
from api.routes.id_tokens import ports_of
from api.routing import Call, Resource, json_response
from api.schemas.v2g import WalletLineOut, WalletOut, WalletPage, WalletQuery
from api.security import authenticate
from sigec_actors.adapters.pg_wallet import StatementLine
from sigec_actors.domain.ledger import AccountKind
from sigec_actors.domain.records import Role
from sigec_actors.payments.wiring import EXTRAS_KEY as PAYMENTS
from sigec_actors.payments.wiring import PaymentsWiring
from sigec_actors.ports import LedgerRepository

resource = Resource("wallet", authenticate)
routes = resource.table
BASE = "/api/v1/wallet"
EXTRAS_KEY = "wallet_statement"
KINDS = {"charging_session": "charge", "v2g_compensation": "v2g_payout", "refund": "refund",
         "reversal": "reversal", "payment": "topup"}
"""Journal source types as statement kinds; anything else that moves a wallet is a top-up."""


@runtime_checkable
class WalletStatement(Protocol):
    """Statement lines with running balances, and V2G payouts pending (PgWalletStatement)."""

    async def lines(self, account_id: UUID, limit: int, offset: int
                    ) -> tuple[list[StatementLine], int]: ...

    async def pending_v2g(self, user_id: UUID) -> int: ...


def _ports(ctx: AppContext) -> tuple[LedgerRepository, WalletStatement]:
    ledger = ports_of(ctx).ledger
    statement = ctx.extras.get(EXTRAS_KEY)
    if ledger is None or not isinstance(statement, WalletStatement):
        raise NotConfigured("wallet")
    return ledger, statement


def kind_of(source_type: str) -> str:
    return KINDS.get(source_type, "reversal" if source_type.endswith("_reversal") else "topup")


@resource.get(BASE, "The caller's wallet balance", role=Role.USER, response=WalletOut,
              errors=(503,))
async def wallet(call: Call) -> web.Response:
    ledger, statement = _ports(call.ctx)
    user = UUID(call.caller.sub)
    account = await ledger.account(AccountKind.USER_WALLET, user)
    pending = await statement.pending_v2g(user)
    payments = call.ctx.extras.get(PAYMENTS)
    if isinstance(payments, PaymentsWiring):  # top-ups announced, not paid yet
        pending += await payments.store.pending_centavos(user)
    return json_response(WalletOut(
        balance_centavos=await ledger.balance(account.id), currency=account.currency,
        pending_centavos=pending))


@resource.get(BASE + "/transactions", "The caller's wallet statement, newest first",
              role=Role.USER, query=WalletQuery, response=WalletPage, errors=(503,))
async def transactions(call: Call) -> web.Response:
    q = call.query(WalletQuery)
    ledger, statement = _ports(call.ctx)
    account = await ledger.account(AccountKind.USER_WALLET, UUID(call.caller.sub))
    lines, total = await statement.lines(account.id, q.limit, q.offset)
    return json_response(WalletPage(items=[WalletLineOut(
        id=line.entry_id, kind=kind_of(line.source_type), amount_centavos=line.amount_centavos,
        balance_after_centavos=line.balance_after_centavos, created_at=line.created_at,
        reference=f"{line.source_type}:{line.source_id}") for line in lines], total=total))
