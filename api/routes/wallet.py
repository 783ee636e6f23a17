"""The caller's wallet: balance (with V2G payouts pending) and its statement."""

from __future__ import annotations

from uuid import UUID

from aiohttp import web

from api.routing import Call, Resource, json_response
from api.schemas.v2g import WalletLineOut, WalletOut, WalletPage, WalletQuery
from api.security import authenticate
from api.services import wallet as wallet_service
from api.services.wallet import balance, wallet_ports
from sigec_actors.domain.ledger import AccountKind
from sigec_actors.domain.records import Role

resource = Resource("wallet", authenticate)
routes = resource.table
BASE = "/api/v1/wallet"
EXTRAS_KEY = wallet_service.EXTRAS_KEY  # where the node puts the statement port
KINDS = {"charging_session": "charge", "v2g_compensation": "v2g_payout", "refund": "refund",
         "reversal": "reversal", "payment": "topup"}
"""Journal source types as statement kinds; anything else that moves a wallet is a top-up."""


def kind_of(source_type: str) -> str:
    return KINDS.get(source_type, "reversal" if source_type.endswith("_reversal") else "topup")


@resource.get(BASE, "The caller's wallet balance", role=Role.USER, response=WalletOut,
              errors=(503,))
async def wallet(call: Call) -> web.Response:
    return json_response(await balance(call.ctx, call.caller))


@resource.get(BASE + "/transactions", "The caller's wallet statement, newest first",
              role=Role.USER, query=WalletQuery, response=WalletPage, errors=(503,))
async def transactions(call: Call) -> web.Response:
    q = call.query(WalletQuery)
    ledger, statement = wallet_ports(call.ctx)
    account = await ledger.account(AccountKind.USER_WALLET, UUID(call.caller.sub))
    lines, total = await statement.lines(account.id, q.limit, q.offset)
    return json_response(WalletPage(items=[WalletLineOut(
        id=line.entry_id, kind=kind_of(line.source_type), amount_centavos=line.amount_centavos,
        balance_after_centavos=line.balance_after_centavos, created_at=line.created_at,
        reference=f"{line.source_type}:{line.source_id}") for line in lines], total=total))
