"""The caller's wallet balance: what REST, GraphQL and gRPC share."""

from __future__ import annotations

from typing import Protocol, runtime_checkable
from uuid import UUID

from api.context import AppContext
from api.errors import NotConfigured
from api.routes.id_tokens import ports_of
from api.routing import Principal
from api.schemas.v2g import WalletOut
from sigec_actors.adapters.pg_wallet import StatementLine
from sigec_actors.domain.ledger import AccountKind
from sigec_actors.payments.wiring import EXTRAS_KEY as PAYMENTS
from sigec_actors.payments.wiring import PaymentsWiring
from sigec_actors.ports import LedgerRepository

EXTRAS_KEY = "wallet_statement"


@runtime_checkable
class WalletStatement(Protocol):
    """Statement lines with running balances, and V2G payouts pending (PgWalletStatement)."""

    async def lines(self, account_id: UUID, limit: int, offset: int
                    ) -> tuple[list[StatementLine], int]: ...

    async def pending_v2g(self, user_id: UUID) -> int: ...


def wallet_ports(ctx: AppContext) -> tuple[LedgerRepository, WalletStatement]:
    ledger = ports_of(ctx).ledger
    statement = ctx.extras.get(EXTRAS_KEY)
    if ledger is None or not isinstance(statement, WalletStatement):
        raise NotConfigured("wallet")
    return ledger, statement


async def balance(ctx: AppContext, caller: Principal) -> WalletOut:
    """The caller's balance, with V2G payouts and announced top-ups pending."""
    ledger, statement = wallet_ports(ctx)
    user = UUID(caller.sub)
    account = await ledger.account(AccountKind.USER_WALLET, user)
    pending = await statement.pending_v2g(user)
    payments = ctx.extras.get(PAYMENTS)
    if isinstance(payments, PaymentsWiring):  # top-ups announced, not paid yet
        pending += await payments.store.pending_centavos(user)
    return WalletOut(balance_centavos=await ledger.balance(account.id), currency=account.currency,
                     pending_centavos=pending)
